package dev.jvq.cli;

import dev.jvq.JvqException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Entry point of the {@code jvq} command line. Each command is a class in this package; register
 * new ones in {@link #COMMANDS}. Errors the user can act on ({@link JvqException}, bad options) are
 * printed as one line and exit with status 2; anything else is an internal error (status 1). Stack
 * traces appear only with {@code --verbose}.
 */
@Command(name = "jvq", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Hessian- and Fisher-aware vector quantisation of language models, and fast inference from"
                + " the compressed weights.",
        footer = {"", "Run 'jvq COMMAND --help' for the options of a command."})
public final class Main implements Callable<Integer> {

    /** Every command of the CLI, in the order `jvq --help` lists them. */
    static final Class<?>[] COMMANDS = {
        DemoCommand.class, QuantizeCommand.class, EvalCommand.class, GenerateCommand.class,
        InspectCommand.class, BenchCommand.class, BackendsCommand.class, ConvertCommand.class, PullCommand.class,
    };

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "Print stack traces and extra diagnostics.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns the exit status (used by tests to run commands in-process). */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = commandLine();
        cl.setOut(out);
        cl.setErr(err);
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            // picocli hands only Exceptions to the handler below; a full Java heap would otherwise
            // end the run with a stack trace. Outputs are written through temporary files, so
            // nothing half-written is left behind.
            err.println("jvq: " + outOfMemoryMessage(e, Runtime.getRuntime().maxMemory()));
            err.flush();
            return 1;
        }
    }

    /** One line for a Java heap exhaustion: what ran out, the limit, and how to raise it. */
    static String outOfMemoryMessage(OutOfMemoryError e, long maxHeapBytes) {
        return "out of Java memory (" + e.getMessage() + "; the limit is " + (maxHeapBytes >> 20)
                + " MiB): raise it with JVQ_JAVA_OPTS=-Xmx<size>, e.g. JVQ_JAVA_OPTS=-Xmx24g";
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        for (Class<?> c : COMMANDS) {
            cl.addSubcommand(c);
        }
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            boolean verbose = parseResult.hasMatchedOption("--verbose")
                    || parseResult.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--verbose"));
            PrintWriter err = commandLine.getErr();
            Throwable user = userError(ex);
            if (user != null) {
                err.println("jvq: " + user.getMessage());
            } else {
                err.println("jvq: internal error: " + ex + (verbose ? "" : " (run with --verbose for details)"));
            }
            if (verbose) {
                ex.printStackTrace(err);
            }
            err.flush();
            return user != null ? 2 : 1;
        });
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("jvq: " + ex.getMessage());
            err.println("Run '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help' for usage.");
            err.flush();
            return 2;
        });
        return cl;
    }

    /** The JvqException in the cause chain, if any: those are the user's to fix. */
    static Throwable userError(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof JvqException) {
                return c;
            }
        }
        return null;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"jvq " + (v == null ? "(development build)" : v)};
        }
    }
}

package dev.jvq.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.backend.Backends;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jvq backends}: which compute backends can run on this machine, on what device, and for
 * those that cannot, why — the same reasons {@code --backend cuda} would fail with. Each backend is
 * really opened (kernels loaded), not just detected.
 */
@Command(name = "backends", mixinStandardHelpOptions = true,
        description = "List the compute backends (cpu, cuda), whether each can run here, on which device,"
                + " and why not when it cannot.")
public final class BackendsCommand implements Callable<Integer> {

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        List<Backends.Status> statuses = Backends.statuses();
        // What `--backend auto` picks: the GPU when it starts, else the CPU.
        String auto = statuses.stream().anyMatch(s -> s.name().equals("cuda") && s.available()) ? "cuda" : "cpu";
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode root = mapper.createObjectNode();
            ArrayNode list = root.putArray("backends");
            for (Backends.Status s : statuses) {
                ObjectNode o = list.addObject();
                o.put("name", s.name());
                o.put("available", s.available());
                if (s.device() != null) {
                    o.put("device", s.device());
                }
                if (s.reason() != null) {
                    o.put("reason", s.reason());
                }
            }
            root.put("auto", auto);
            out.println(mapper.writeValueAsString(root));
        } else {
            for (Backends.Status s : statuses) {
                String detail = s.available() ? s.device()
                        : s.reason() + (s.device() != null ? " [" + s.device() + "]" : "");
                out.printf("%-5s %-12s %s%n", s.name(), s.available() ? "available" : "unavailable", detail);
            }
            out.printf("%-5s %-12s %s%n", "auto", "->", auto);
        }
        out.flush();
        return 0;
    }
}

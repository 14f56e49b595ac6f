# jvq build. `make run` runs the main job (the demo), `make test` runs the test suite.
# Everything else is found or fetched by this file: a JDK >= 22, Maven, gcc, and nvcc if present.

SHELL := /bin/bash
.DEFAULT_GOAL := build

JDK := $(shell scripts/find-jdk.sh)
ifeq ($(JDK),)
$(error no JDK >= 22 found: install one (e.g. Temurin 25) or set JAVA_HOME)
endif
export JAVA_HOME := $(JDK)
# Maven 3.8 on JDK 24+ warns about sun.misc.Unsafe on every run; allow it quietly.
export MAVEN_OPTS ?= --sun-misc-unsafe-memory-access=allow

# Maven: the one on PATH, else a copy fetched once from Maven Central into build/tools.
MAVEN_VERSION := 3.9.11
MVN_LOCAL := build/tools/apache-maven-$(MAVEN_VERSION)/bin/mvn
MVN := $(shell command -v mvn 2>/dev/null || echo $(MVN_LOCAL))
MVN_FLAGS := -B -ntp -q

GEN := build/resources
NATIVE_LIB := $(GEN)/native/linux-x86_64/libjvq.so
NATIVE_SRC := $(wildcard native/src/*.c)
NATIVE_HDR := $(wildcard native/include/*.h)
CFLAGS ?= -O3 -march=native -fopenmp -fPIC -std=c11 -Wall -Wextra -Wno-unused-parameter
CC ?= gcc

# The AVX-512 kernel paths built a second time against SIMDe (header-only, the _mm512 intrinsics in
# terms of AVX2), so that `make test` checks their arithmetic on a machine without AVX-512. SIMDe
# comes from Debian's archive (trixie's libsimde-dev; bookworm's 0.7.4 lacks intrinsics the kernels
# use), fetched once into build/tools and checked against its SHA-256.
SIMDE_VERSION := 0.8.2-3
SIMDE_DEB := libsimde-dev_$(SIMDE_VERSION)_all.deb
SIMDE_URL := http://deb.debian.org/debian/pool/main/s/simde/$(SIMDE_DEB)
SIMDE_SHA256 := 277dcde3fb84223b7026174042646e236da42adce2fcb77031807ede8166a51e
SIMDE_DIR := build/tools/simde-$(SIMDE_VERSION)
SIMDE_HDR := $(SIMDE_DIR)/usr/include/simde/x86/avx512.h
EMU512_LIB := build/avx512-emulated/libjvq.so

NVCC := $(shell command -v nvcc 2>/dev/null || { [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; })
CUDA_SRC := $(wildcard cuda/*.cu)
CUDA_HDR := $(wildcard cuda/*.cuh)
CUDA_ARCH := -gencode arch=compute_80,code=sm_80 -gencode arch=compute_86,code=sm_86 \
             -gencode arch=compute_89,code=sm_89 -gencode arch=compute_90,code=sm_90 \
             -gencode arch=compute_90,code=compute_90
# No --use_fast_math (nvcc rejects "=false"; leaving it out is what keeps expf, sqrtf and division IEEE-accurate like the CPU twins).
NVCC_FLAGS := -O3 -std=c++17 -Inative/include
FATBINS := $(patsubst cuda/%.cu,$(GEN)/cuda/%.fatbin,$(CUDA_SRC))

JAR := target/jvq.jar

.PHONY: build native native-avx512-emulated cuda test test-all run bench ptxas clean jdk maven

build: $(JAR)

jdk:
	@echo "JDK: $(JAVA_HOME)"

maven: $(if $(filter $(MVN_LOCAL),$(MVN)),$(MVN_LOCAL))

$(MVN_LOCAL):
	@echo "Maven not on PATH: fetching Apache Maven $(MAVEN_VERSION) from Maven Central into build/tools"
	@mkdir -p build/tools
	@curl -fsSL https://repo.maven.apache.org/maven2/org/apache/maven/apache-maven/$(MAVEN_VERSION)/apache-maven-$(MAVEN_VERSION)-bin.tar.gz \
	  | tar -xz -C build/tools || { echo "jvq: could not fetch Maven; install it with 'apt-get install maven'"; exit 1; }

native: $(NATIVE_LIB)

$(NATIVE_LIB): $(NATIVE_SRC) $(NATIVE_HDR)
	@mkdir -p $(dir $@)
	@command -v $(CC) >/dev/null || { echo "jvq: no C compiler ($(CC)); install it with 'apt-get install gcc'"; exit 1; }
	$(CC) $(CFLAGS) -Inative/include -shared -o $@ $(NATIVE_SRC) -lm

# Best effort: without SIMDe (no network, no dpkg-deb) the AVX-512 twin tests are skipped, said in one line.
native-avx512-emulated:
	@if ! $(CC) $(CFLAGS) -dM -E - </dev/null 2>/dev/null | grep -q '__AVX2__'; then \
	  echo "jvq: AVX-512 twin tests skipped: the compiler's target has no AVX2 (the emulated AVX-512 paths build on it)"; \
	elif [ ! -f $(SIMDE_HDR) ]; then \
	  mkdir -p build/tools && rm -f build/tools/$(SIMDE_DEB) && \
	  curl -fsSL -o build/tools/$(SIMDE_DEB) $(SIMDE_URL) && \
	  echo "$(SIMDE_SHA256)  build/tools/$(SIMDE_DEB)" | sha256sum -c --quiet - && \
	  dpkg-deb -x build/tools/$(SIMDE_DEB) $(SIMDE_DIR) && rm -f build/tools/$(SIMDE_DEB) \
	  || { rm -rf $(SIMDE_DIR); echo "jvq: AVX-512 twin tests skipped: could not fetch SIMDe $(SIMDE_VERSION) from $(SIMDE_URL)"; }; \
	fi
	@if [ -f $(SIMDE_HDR) ] && $(CC) $(CFLAGS) -dM -E - </dev/null 2>/dev/null | grep -q '__AVX2__'; then \
	  $(MAKE) --no-print-directory $(EMU512_LIB); fi

$(EMU512_LIB): $(NATIVE_SRC) $(NATIVE_HDR) $(SIMDE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DJVQ_EMULATE_AVX512 -Wno-psabi -Inative/include -isystem $(SIMDE_DIR)/usr/include -shared -o $@ $(NATIVE_SRC) -lm

ifeq ($(NVCC),)
cuda:
	@echo "CPU-only build: nvcc not found"
else
cuda: $(FATBINS)

$(GEN)/cuda/%.fatbin: cuda/%.cu $(CUDA_HDR) $(NATIVE_HDR)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) $(CUDA_ARCH) -fatbin -o $@ $<
endif

# ptxas register/spill report for every kernel (sm_90); fails if any kernel spills.
ptxas:
ifeq ($(NVCC),)
	@echo "CPU-only build: nvcc not found"
else
	@for f in $(CUDA_SRC); do \
	  $(NVCC) $(NVCC_FLAGS) -gencode arch=compute_90,code=sm_90 -Xptxas -v -cubin -o /dev/null $$f 2>&1 \
	    | grep -E "Compiling entry|spill|Used" ; done | tee build/ptxas.txt
	@! grep -E "[1-9][0-9]* bytes spill (stores|loads)" build/ptxas.txt
endif

$(JAR): maven native cuda $(shell find java bench -name '*.java' 2>/dev/null) pom.xml
	$(MVN) $(MVN_FLAGS) package -DskipTests
	@echo "built $(JAR)"

# Old reports are removed first: the summary counts every report it finds.
test: maven native native-avx512-emulated cuda
	@rm -rf target/surefire-reports target/surefire-reports-avx512-emulated
	$(MVN) -B -ntp package
	@scripts/test-summary.sh

# Includes the tests tagged "slow" (full-file perplexities, large synthetic shapes).
test-all: maven native native-avx512-emulated cuda
	@rm -rf target/surefire-reports target/surefire-reports-avx512-emulated
	$(MVN) -B -ntp -Djvq.test.excludedGroups= package
	@scripts/test-summary.sh

run: build
	./jvq demo

bench: build
	OMP_WAIT_POLICY=passive $(JAVA_HOME)/bin/java --enable-native-access=ALL-UNNAMED -cp $(JAR) org.openjdk.jmh.Main $(BENCH_ARGS)

clean:
	rm -rf target build/resources build/ptxas.txt

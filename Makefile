# Tartan: see README.md. `make demo` is the main job, `make test` runs every check.
GO        ?= go
BIN       := $(CURDIR)/bin
NOMAD     := $(BIN)/nomad
GOTEST    ?= $(GO) test -race -count=1 -timeout 30m
export NOMAD_BINARY := $(NOMAD)

.PHONY: all build test unit fmt-check vet staticcheck cross nomad demo demo-gitlab demo-container clean bench

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# The real Nomad agent, built from the Nomad module this project depends on
# (go.mod's tool directive). Used by the end-to-end tests and the demo.
nomad: $(NOMAD)
$(NOMAD): go.mod go.sum
	$(GO) build -o $(NOMAD) github.com/hashicorp/nomad

test: fmt-check vet staticcheck cross unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	GOOS=darwin GOARCH=arm64 $(GO) vet ./...

staticcheck:
	$(GO) tool staticcheck ./...

# The real target is Apple Silicon: every binary must cross-build.
cross:
	@for d in cmd/*/; do \
		echo "darwin/arm64: $$d"; \
		GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./$$d || exit 1; \
	done

unit: $(NOMAD)
	$(GOTEST) ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

demo: build $(NOMAD)
	./scripts/demo.sh

demo-gitlab: build
	./scripts/demo-gitlab.sh

demo-container: build $(NOMAD)
	./scripts/demo-container.sh

clean:
	rm -rf $(BIN)

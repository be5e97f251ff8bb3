# The two commands of the README, and a few helpers.
.PHONY: test demo bench bench-queue fmt e2e conformance soak fuzz load

test:            ## install what is missing, then fmt, clippy and every test
	bash scripts/test.sh

fmt:
	cargo fmt --all

demo:            ## oss-local + app-token-server + the app in a window (the CLI when there is no display)
	bash scripts/demo.sh

e2e:             ## only the real-window app tests
	bash scripts/e2e.sh

conformance:     ## only the official SDK tests against oss-local
	bash scripts/conformance.sh

bench:           ## the benchmarks (run by hand, never by make test): a table on stdout and in bench/RESULTS.md
	bash bench/run.sh

bench-queue:     ## 200 photos through the upload queue against oss2 with threads (bench/RESULTS.md, "Many photos")
	bash bench/queue.sh

soak:            ## the fault soak with 300 uploads (the test command runs 40)
	SOAK_UPLOADS=300 bash -c 'source scripts/env.sh && cargo test -p oss-direct --test soak -- --nocapture'

fuzz:            ## every cargo-fuzz target for 60 s (fuzz/README.md); crashes land in fuzz/regressions/
	bash scripts/fuzz.sh 60

load:            ## wrk against the release token server and oss-local on loopback (run by hand): bench/LOAD.md
	bash scripts/load.sh

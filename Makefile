# The two commands of the README, and a few helpers.
.PHONY: test demo bench fmt

test:            ## install what is missing, then fmt, clippy and every test
	bash scripts/test.sh

fmt:
	cargo fmt --all

# The two commands the README starts with: `make run` and `make test`.
.PHONY: run test generate fmt bench build fuzz

run:
	go run ./cmd/warden

build:
	go build -o warden ./cmd/warden

# Postgres-backed tests run when WARDEN_TEST_DATABASE_URL is set (and fail without it under CI).
test:
	go test -count=1 ./...

generate:
	go tool templ generate -path views

fmt:
	gofmt -w $$(git ls-files '*.go')

bench:
	go test -run='^$$' -bench=. -benchmem ./models/resolver/

# The strict-reading fuzz targets, briefly (CI runs this after make test). Each -fuzz run takes one
# package; -fuzzminimizetime 0s spends the time fuzzing rather than shrinking new inputs.
fuzz:
	go test ./handlers/mcpgw -run '^$$' -fuzz '^FuzzStrictReading$$' -fuzztime 20s -fuzzminimizetime 0s
	go test ./handlers -run '^$$' -fuzz '^FuzzDecodeCheck$$' -fuzztime 10s -fuzzminimizetime 0s

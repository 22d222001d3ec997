module wasmbridge.bench/go

go 1.19

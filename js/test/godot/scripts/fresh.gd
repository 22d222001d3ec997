extends "res://testlib.gd"
## Run in a fresh project whose addon was unpacked from the addon zip: the
## autoload starts, calls work, values round-trip.


func run_tests() -> void:
	ok(await WasmBridge.wait_ready(), "wait_ready() is true", WasmBridge.get_error())
	eq(await WasmBridge.call("add", [40, 2]), {"ok": true, "value": 42}, "add(40, 2)")
	var v := {"$bigint": "1", "bytes": PackedByteArray([1, 2, 3]), "s": "\u001b\v"}
	eq(await WasmBridge.call("echo", [v]), {"ok": true, "value": v}, "echo round-trips")

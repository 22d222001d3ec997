extends "res://testlib.gd"
## Run on a page that imports wasmbridge/godot.js 2 s after the engine
## started: a call made before then waits and completes. The test also checks
## that the engine printed no error while the addon waited for the page.


func run_tests() -> void:
	ok(not WasmBridge.is_ready(), "not ready at start")
	var first = WasmBridge.start("add", [1, 2])
	await get_tree().create_timer(1.0).timeout
	ok(not first.done, "the call waits while window.WasmBridge is missing")
	eq(await first.wait(), {"ok": true, "value": 3}, "the call completes once godot.js has loaded")
	ok(WasmBridge.is_ready(), "ready afterwards")
	eq(await WasmBridge.call("add", [40, 2]), {"ok": true, "value": 42}, "calls after ready work")

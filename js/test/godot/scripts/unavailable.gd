extends "res://testlib.gd"
## Run on a page without wasmbridge/godot.js: calls fail with UNAVAILABLE once
## the load timeout passes, and the game keeps running.

var _failed_errors := []


func run_tests() -> void:
	WasmBridge.bridge_failed.connect(func(e): _failed_errors.append(e))
	ok(not WasmBridge.is_ready(), "not ready")
	var r = await WasmBridge.call("add", [1, 2])
	expect_error(r, "UNAVAILABLE", "a call without window.WasmBridge is UNAVAILABLE")
	ok(r is Dictionary and "godot.js" in str(r.get("error", {}).get("message")), "the message says what to load", r)
	r = await WasmBridge.call("add", [1, 2])
	expect_error(r, "UNAVAILABLE", "later calls are UNAVAILABLE too")
	ok(not await WasmBridge.wait_ready(), "wait_ready() is false")
	eq(WasmBridge.get_error().get("code"), "UNAVAILABLE", "get_error() says UNAVAILABLE")
	await get_tree().process_frame
	eq(_failed_errors.size(), 1, "bridge_failed fired once")
	eq(WasmBridge.functions(), [], "functions() is empty")

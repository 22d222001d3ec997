extends "res://testlib.gd"
## Run on a page without wasmbridge/godot.js, whose module the test serves
## slowly: calls made before window.WasmBridge exists (this script imports
## godot.js after making them) and before the pool is ready complete once it
## is; bridge_ready fires once.

var _ready_signals := 0


func run_tests() -> void:
	WasmBridge.bridge_ready.connect(func(): _ready_signals += 1)
	ok(not WasmBridge.is_ready(), "not ready at start")
	eq(JavaScriptBridge.eval("typeof window.WasmBridge", true), "undefined", "window.WasmBridge is absent before godot.js loads")
	var t0 := Time.get_ticks_msec()
	var first = WasmBridge.start("add", [1, 2])
	var second = WasmBridge.start("echo", [{"early": PackedByteArray([1, 2, 3])}])
	var timed = WasmBridge.start("busy", [10], {"timeout_ms": 60000})
	var too_short = WasmBridge.start("add", [1, 1], {"timeout_ms": 100})
	var dropped = WasmBridge.start("add", [2, 2])
	ok(WasmBridge.cancel(dropped.id), "a waiting call can be cancelled")
	await get_tree().create_timer(0.3).timeout
	ok(not first.done and not WasmBridge.is_ready(), "the calls wait while window.WasmBridge is missing")
	expect_error(await too_short.wait(), "TIMEOUT", "a waiting call times out on time")
	expect_error(await dropped.wait(), "CANCELLED", "a cancelled waiting call is CANCELLED")
	JavaScriptBridge.eval("import('./wasmbridge/godot.js')", true)
	eq(await first.wait(), {"ok": true, "value": 3}, "a call made before window.WasmBridge existed completes")
	eq(await second.wait(), {"ok": true, "value": {"early": PackedByteArray([1, 2, 3])}}, "bytes sent before the pool was ready arrive")
	eq(await timed.wait(), {"ok": true, "value": 10}, "a call with a timeout made before ready completes")
	ok(Time.get_ticks_msec() - t0 >= 1000, "the calls waited for the slow module", Time.get_ticks_msec() - t0)
	ok(WasmBridge.is_ready(), "ready afterwards")
	eq(_ready_signals, 1, "bridge_ready fired once")
	ok(await WasmBridge.wait_ready(), "wait_ready() is true once ready")
	eq(await WasmBridge.call("add", [40, 2]), {"ok": true, "value": 42}, "calls after ready work")

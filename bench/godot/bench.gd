extends Node
## The Godot round trip for `cargo xtask bench`, against the same page's
## `pool.call` in interleaved rounds: a round of sequential
## `await WasmBridge.call("add", [i, 1])` from GDScript (timed with
## Time.get_ticks_usec), then a round of sequential
## `await WasmBridge.pool.call("add", i, 1)` in JS on the same pool (timed with
## performance.now), and so on. Prints one line `BENCH {json}` and quits with 0.

signal _js_round_done

const ROUNDS := 5
const CALLS := 200
const WARMUP := 50
# Defines window.__wasmbridgeBenchPool(n): n sequential pool.call round trips,
# reported to window.__wasmbridgeBenchDone as a JSON array of µs.
const JS_ROUND := """
window.__wasmbridgeBenchPool = async (n) => {
  const pool = window.WasmBridge.pool;
  const times = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const v = await pool.call('add', i, 1);
      times.push((performance.now() - t0) * 1000);
      if (v !== i + 1) throw new Error(`add(${i}, 1) gave ${v}`);
    }
    window.__wasmbridgeBenchDone(JSON.stringify(times));
  } catch (e) {
    window.__wasmbridgeBenchDone(JSON.stringify({ error: String(e) }));
  }
};
"""

var _on_js_round_cb = null
var _js_round = null


func _ready() -> void:
	if not await WasmBridge.wait_ready():
		_fail("WasmBridge not ready: %s" % str(WasmBridge.get_error()))
		return
	_on_js_round_cb = JavaScriptBridge.create_callback(_on_js_round)
	JavaScriptBridge.get_interface("window").__wasmbridgeBenchDone = _on_js_round_cb
	JavaScriptBridge.eval(JS_ROUND, true)
	for i in WARMUP:
		await WasmBridge.call("add", [i, 1])
	if not await _pool_round(WARMUP) is Array:
		_fail("the JS round failed: %s" % str(_js_round))
		return
	var gdscript := []
	var pool := []
	for r in ROUNDS:
		var times := []
		for i in CALLS:
			var t0 := Time.get_ticks_usec()
			var res = await WasmBridge.call("add", [i, 1])
			times.append(Time.get_ticks_usec() - t0)
			if not (res is Dictionary and res.get("ok") == true and int(res.get("value")) == i + 1):
				_fail("add(%d, 1) gave %s" % [i, str(res)])
				return
		gdscript.append(times)
		var js_times = await _pool_round(CALLS)
		if not js_times is Array:
			_fail("the JS round failed: %s" % str(js_times))
			return
		pool.append(js_times)
	print("BENCH " + JSON.stringify({"rounds": gdscript, "pool": pool}))
	get_tree().quit(0)


func _pool_round(n: int) -> Variant:
	_js_round = null
	JavaScriptBridge.eval("window.__wasmbridgeBenchPool(%d)" % n, true)
	await _js_round_done
	return _js_round


func _on_js_round(args: Array) -> void:
	_js_round = JSON.parse_string(str(args[0]))
	_js_round_done.emit()


func _fail(why: String) -> void:
	print("BENCH " + JSON.stringify({"error": why}))
	get_tree().quit(1)

extends Node
## The Godot round trip for `cargo xtask bench`: sequential
## `await WasmBridge.call("add", [i, 1])` from GDScript, timed with
## Time.get_ticks_usec(). Prints one line `BENCH {json}` and quits with 0.

const ROUNDS := 5
const CALLS := 200
const WARMUP := 50


func _ready() -> void:
	if not await WasmBridge.wait_ready():
		print("BENCH " + JSON.stringify({"error": "WasmBridge not ready: %s" % str(WasmBridge.get_error())}))
		get_tree().quit(1)
		return
	for i in WARMUP:
		await WasmBridge.call("add", [i, 1])
	var rounds := []
	for r in ROUNDS:
		var times := []
		for i in CALLS:
			var t0 := Time.get_ticks_usec()
			var res = await WasmBridge.call("add", [i, 1])
			times.append(Time.get_ticks_usec() - t0)
			if not (res is Dictionary and res.get("ok") == true and int(res.get("value")) == i + 1):
				print("BENCH " + JSON.stringify({"error": "add(%d, 1) gave %s" % [i, str(res)]}))
				get_tree().quit(1)
				return
		rounds.append(times)
	print("BENCH " + JSON.stringify({"rounds": rounds}))
	get_tree().quit(0)

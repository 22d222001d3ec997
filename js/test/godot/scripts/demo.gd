extends "res://testlib.gd"
## Against the demo guest: big results arrive as decimal strings, and a big
## integer sent as a string reaches a guest that takes a u64.


func run_tests() -> void:
	ok(await WasmBridge.wait_ready(), "wait_ready() is true", WasmBridge.get_error())
	var r = await WasmBridge.call("fibonacci", [90])
	eq(r, {"ok": true, "value": "2880067194370816120"}, "fibonacci(90) is the exact decimal string")
	r = await WasmBridge.call("fibonacci", [10])
	eq(r, {"ok": true, "value": "55"}, "fibonacci(10)")
	r = await WasmBridge.call("fibonacci", [300])
	eq(r, {"ok": true, "value": "222232244629420445529739893461909967206666939096499764990979600"}, "fibonacci(300) beyond u64")
	# 2^64 - 59 is the largest prime below 2^64: only a string carries it exactly.
	r = await WasmBridge.call("factorize", ["18446744073709551557"])
	ok(r is Dictionary and r.get("ok") == true and _as_strings(r.value) == ["18446744073709551557"], "factorize of the largest u64 prime, sent as a string", r)
	r = await WasmBridge.call("factorize", ["600851475143"])
	ok(r is Dictionary and r.get("ok") == true and _as_strings(r.value) == ["71", "839", "1471", "6857"], "factorize(\"600851475143\")", r)
	r = await WasmBridge.call("factorize", [600851475143])
	ok(r is Dictionary and r.get("ok") == true and _as_strings(r.value) == ["71", "839", "1471", "6857"], "factorize(600851475143) as an int", r)
	r = await WasmBridge.call("factorize", ["not a number"])
	ok(r is Dictionary and r.get("ok") == false and r.get("error", {}).get("code") in ["BAD_ARGUMENT", "GUEST_ERROR"], "factorize of garbage is an error", r)
	r = await WasmBridge.call("divide", [1, 0])
	ok(r is Dictionary and r.get("ok") == false, "divide by zero is an error", r)


## Factors as decimal strings, whatever form they came in (strings, ints, an int64 array).
func _as_strings(value) -> Array:
	var out := []
	if value is Array or value is PackedInt64Array or value is PackedInt32Array:
		for v in value:
			out.append(str(v))
	return out

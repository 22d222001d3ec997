extends "res://testlib.gd"
## Against the test guest: every kind of value round-trips exactly through
## Rust, every failure arrives as {ok: false, error: {code}}, and 1000
## concurrent awaits complete with the right values.

const WasmBridgeScript := preload("res://addons/wasmbridge/wasmbridge.gd")

var _concurrent_done := 0
var _concurrent_wrong := 0
var _completed_signals := 0


func run_tests() -> void:
	ok(await WasmBridge.wait_ready(), "wait_ready() is true", WasmBridge.get_error())
	ok(WasmBridge.is_ready(), "is_ready() after wait_ready()")
	var names := []
	for f in WasmBridge.functions():
		names.append(f.name)
	for name in ["echo", "add", "bytes", "sumBytes", "panicWith", "fail", "busy", "loopForever"]:
		ok(names.has(name), "functions() lists " + name, names)

	await _scalars()
	await _big_integers()
	await _structures()
	await _bytes()
	await _errors()
	await _cancel_and_progress()
	await _concurrent()
	await _no_leaks()


func _echo(value: Variant) -> Variant:
	var r = await WasmBridge.call("echo", [value])
	if not (r is Dictionary and r.get("ok") == true):
		return ["echo failed", r]
	return r.value


func _scalars() -> void:
	for v in [0, 1, -1, 42, 2147483647, 2147483648, -2147483649, 4294967296, 9007199254740991, -9007199254740991]:
		eq(await _echo(v), v, "int %d round-trips" % v)
	# Computed, not literals: GDScript's own number parser rounds some literals.
	var floats := [0.5, -2.5, 0.1, 1.0 / 3.0, PI, 123456.789, -1e300, 1.7976931348623157e308, pow(2.0, -1022), pow(2.0, -1074), 4.5e15 + 0.5, 0.1 + 0.2]
	var rng := RandomNumberGenerator.new()
	rng.seed = 12345
	while floats.size() < 52:
		var r := (rng.randf() - 0.5) * pow(10.0, rng.randi_range(-30, 30))
		# Whole numbers up to 2^53 come back as int by design; keep them out of this list.
		if r != floorf(r) or absf(r) > 9007199254740991.0:
			floats.append(r)
	for v in floats:
		eq(await _echo(v), v, "float %s round-trips" % String.num_scientific(v))
	# In one go too, inside a structure.
	eq(await _echo({"floats": floats}), {"floats": floats}, "40 random floats in an object round-trip")
	eq(await _echo(2.0), 2, "a whole float comes back as int (JS has one number type)")
	eq(await _echo(NAN), NAN, "NaN round-trips")
	eq(await _echo(INF), INF, "INF round-trips")
	eq(await _echo(-INF), -INF, "-INF round-trips")
	for v in ["", "plain", "héllo wörld ✓ 日本語 𝄞", "quotes \" and \\ and \n newlines \t tabs", "{\"$buffer\": 1}", "x".repeat(100000)]:
		eq(await _echo(v), v, "string of %d chars round-trips" % v.length())
	eq(await _echo(true), true, "true round-trips")
	eq(await _echo(false), false, "false round-trips")
	eq(await _echo(null), null, "null round-trips")
	var sum = await WasmBridge.call("add", [2, 3])
	eq(sum, {"ok": true, "value": 5}, "add(2, 3) is int 5")
	sum = await WasmBridge.call("add", [0.1, 0.2])
	eq(sum, {"ok": true, "value": 0.30000000000000004}, "add(0.1, 0.2) is exact")
	var typed: Dictionary = await WasmBridge.invoke("add", [1.5, 1.25])
	eq(typed, {"ok": true, "value": 2.75}, "invoke() is call()")


func _big_integers() -> void:
	# Beyond 2^53 integers travel as strings: a string stays a string...
	for s in ["9007199254740993", "18446744073709551615", "-170141183460469231731687303715884105728", "123456789012345678901234567890"]:
		eq(await _echo(s), s, "big integer as string %s round-trips" % s)
	# ... and a GDScript int beyond 2^53 becomes a BigInt, which comes back as its decimal string.
	for v in [9007199254740993, 9223372036854775807, -9223372036854775807 - 1]:
		eq(await _echo(v), str(v), "int %d comes back as its decimal string" % v)


func _structures() -> void:
	var obj := {"a": 1, "b": [1, 2.5, "x", null, true, false], "c": {"d": {"e": "f", "g": []}, "h": {}}, "unicode ✓": "v", "": 0}
	eq(await _echo(obj), obj, "a JSON object round-trips")
	var arr := [[], [[]], [1, [2, [3, [4]]]], {"k": [{"k": "v"}]}]
	eq(await _echo(arr), arr, "nested arrays round-trip")
	# Keys that could reach a prototype travel as plain keys, and nothing is polluted.
	var evil := {"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}, "safe": 1}
	eq(await _echo(evil), evil, "__proto__ and constructor keys round-trip as plain keys")
	ok(bool(JavaScriptBridge.eval("({}).polluted === undefined && Object.prototype.polluted === undefined", true)), "Object.prototype is not polluted")
	var vec = await _echo(Vector3(1, 2.5, -3))
	eq(vec, [1, 2.5, -3], "Vector3 travels as an array")
	eq(await _echo(&"name"), "name", "StringName travels as a String")
	var node := Node.new()
	var r = await WasmBridge.call("echo", [node])
	node.free()
	expect_error(r, "BAD_ARGUMENT", "an Object argument is BAD_ARGUMENT")


func _bytes() -> void:
	var all := PackedByteArray()
	for i in 256:
		all.append(i)
	var r = await WasmBridge.call("sumBytes", [all])
	eq(r, {"ok": true, "value": 32640}, "sumBytes of 0..255 is 32640")
	eq(await _echo(all), all, "PackedByteArray of all 256 values round-trips")
	eq(await _echo(PackedByteArray()), PackedByteArray(), "an empty PackedByteArray round-trips")
	var rng := RandomNumberGenerator.new()
	rng.seed = 5
	var big := PackedByteArray()
	big.resize(1 << 20)
	var total := 0
	for i in big.size():
		var b := rng.randi() & 255
		big[i] = b
		total += b
	r = await WasmBridge.call("sumBytes", [big])
	eq(r, {"ok": true, "value": total}, "sumBytes of 1 MiB random bytes")
	eq(await _echo(big), big, "1 MiB of random bytes round-trips")
	r = await WasmBridge.call("bytes", [1000])
	var expected := PackedByteArray()
	for i in 1000:
		expected.append(i % 251)
	eq(r, {"ok": true, "value": expected}, "bytes(1000) comes back as a PackedByteArray")
	r = await WasmBridge.call("bytes", [0])
	eq(r, {"ok": true, "value": PackedByteArray()}, "bytes(0) is an empty PackedByteArray")
	var nested = await _echo({"data": all, "list": [all, PackedByteArray([7])]})
	eq(nested, {"data": all, "list": [all, PackedByteArray([7])]}, "bytes inside objects and arrays round-trip")
	eq(await _echo(PackedFloat32Array([1.5, -2.25, 1e30])), PackedFloat32Array([1.5, -2.25, 1e30]), "PackedFloat32Array round-trips")
	eq(await _echo(PackedFloat64Array([0.1, PI, -1e300])), PackedFloat64Array([0.1, PI, -1e300]), "PackedFloat64Array round-trips")
	eq(await _echo(PackedInt32Array([1, -2, 2147483647])), PackedInt32Array([1, -2, 2147483647]), "PackedInt32Array round-trips")
	eq(await _echo(PackedInt64Array([1, -2, 9223372036854775807])), PackedInt64Array([1, -2, 9223372036854775807]), "PackedInt64Array round-trips")
	var floats := PackedFloat32Array()
	for i in 5000:
		floats.append(i * 0.25 - 100.0)
	eq(await _echo(floats), floats, "a large PackedFloat32Array (staged in JS) round-trips")

	# Buffers can stay in JS between calls: keep_buffers gives handles, and a
	# handle passed as an argument never comes through GDScript.
	var kept = await WasmBridge.call("bytes", [1000], {"keep_buffers": true})
	ok(kept.get("ok") == true and kept.value is WasmBridgeScript.Buffer and kept.value.length == 1000, "keep_buffers returns a WasmBridge.Buffer", kept)
	var expected_sum := 0
	for i in 1000:
		expected_sum += i % 251
	eq(await WasmBridge.call("sumBytes", [kept.value]), {"ok": true, "value": expected_sum}, "a kept buffer passed to another call")
	kept = await WasmBridge.call("bytes", [10], {"keep_buffers": true})
	eq(WasmBridge.take_bytes(kept.value), PackedByteArray([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), "take_bytes() of a kept buffer")
	kept = await WasmBridge.call("bytes", [10], {"keep_buffers": true})
	WasmBridge.release_buffer(kept.value)


func _errors() -> void:
	var r = await WasmBridge.call("noSuchFunction", [1])
	expect_error(r, "UNKNOWN_FUNCTION", "an unknown function is UNKNOWN_FUNCTION")
	r = await WasmBridge.call("fail", ["MY_CODE", "it failed on purpose"])
	expect_error(r, "MY_CODE", "a guest error keeps its code")
	ok(r is Dictionary and r.get("error", {}).get("message") == "it failed on purpose", "a guest error keeps its message", r)
	ok(r is Dictionary and same(r.get("error", {}).get("data"), {"requested": "MY_CODE"}), "a guest error keeps its data", r)
	r = await WasmBridge.call("fail", ["GUEST_ERROR", "plain"])
	expect_error(r, "GUEST_ERROR", "GUEST_ERROR arrives")
	r = await WasmBridge.call("panicWith", ["boom at the test"])
	expect_error(r, "PANIC", "a panic is PANIC")
	ok(r is Dictionary and "boom at the test" in str(r.get("error", {}).get("message")), "a panic carries its message", r)
	r = await WasmBridge.call("add", ["two", 3])
	expect_error(r, "BAD_ARGUMENT", "a wrong argument type is BAD_ARGUMENT")
	r = await WasmBridge.call("add", [1])
	expect_error(r, "BAD_ARGUMENT", "a missing argument is BAD_ARGUMENT")
	var t0 := Time.get_ticks_msec()
	r = await WasmBridge.call("busy", [3000], {"timeout_ms": 300})
	expect_error(r, "TIMEOUT", "busy(3000) with timeout_ms 300 is TIMEOUT")
	ok(Time.get_ticks_msec() - t0 < 2500, "the timeout came in time", Time.get_ticks_msec() - t0)
	r = await WasmBridge.call("loopForever", [], {"timeout_ms": 200})
	expect_error(r, "TIMEOUT", "loopForever with timeout_ms 200 is TIMEOUT")
	r = await WasmBridge.call("add", [20, 22])
	eq(r, {"ok": true, "value": 42}, "the pool works after a runaway call")
	r = await WasmBridge.call("add", [1, 2], {"timeout_ms": -5})
	expect_error(r, "BAD_ARGUMENT", "a negative timeout_ms is BAD_ARGUMENT")
	r = await WasmBridge.call("add", [1, 2], {"timeout": 1000})
	expect_error(r, "BAD_ARGUMENT", "an unknown option is BAD_ARGUMENT")
	ok(r is Dictionary and "timeout_ms" in str(r.get("error", {}).get("message")), "the message names the known options", r)


func _cancel_and_progress() -> void:
	var job = WasmBridge.start("busy", [3000])
	ok(job.id > 0 and not job.done, "start() returns a running job")
	await get_tree().create_timer(0.1).timeout
	ok(WasmBridge.cancel(job.id), "cancel() of a running call is true")
	var r = await job.wait()
	expect_error(r, "CANCELLED", "a cancelled call is CANCELLED")
	ok(not WasmBridge.cancel(job.id), "cancel() of a settled call is false")
	eq(await job.wait(), r, "wait() on a settled job returns its result at once")

	var fractions := []
	job = WasmBridge.start("withProgress", [4, 30])
	job.progress.connect(func(f): fractions.append(f))
	r = await job.wait()
	eq(r, {"ok": true, "value": 4}, "withProgress(4, 30) returns 4")
	ok(fractions.size() >= 1 and fractions.size() <= 4 and is_equal_approx(fractions[-1], 1.0), "progress reached 1.0", fractions)

	WasmBridge.call_completed.connect(_on_call_completed)
	job = WasmBridge.start("add", [1, 1])
	var got = await WasmBridge.call_completed
	while got[0] != job.id:
		got = await WasmBridge.call_completed
	eq(got[1], {"ok": true, "value": 2}, "call_completed carries the id and the result")
	WasmBridge.call_completed.disconnect(_on_call_completed)


func _on_call_completed(_id: int, _result: Dictionary) -> void:
	_completed_signals += 1


func _concurrent() -> void:
	var t0 := Time.get_ticks_msec()
	for i in 1000:
		_one(i)
	while _concurrent_done < 1000 and Time.get_ticks_msec() - t0 < 30000:
		await get_tree().process_frame
	eq(_concurrent_done, 1000, "1000 concurrent awaits all completed")
	eq(_concurrent_wrong, 0, "1000 concurrent awaits all had the right value")
	print("1000 concurrent calls took %d ms" % (Time.get_ticks_msec() - t0))
	eq(WasmBridge.pending_count(), 0, "no call is left pending")


func _one(i: int) -> void:
	var r
	if i % 2 == 0:
		r = await WasmBridge.call("add", [i, 1000000])
		if not same(r, {"ok": true, "value": i + 1000000}):
			_concurrent_wrong += 1
	else:
		r = await WasmBridge.call("echo", [{"i": i, "s": str(i)}])
		if not same(r, {"ok": true, "value": {"i": i, "s": str(i)}}):
			_concurrent_wrong += 1
	_concurrent_done += 1


func _no_leaks() -> void:
	var js = JavaScriptBridge.get_interface("WasmBridge")
	eq(int(js.bufferCount()), 0, "every result buffer was taken")

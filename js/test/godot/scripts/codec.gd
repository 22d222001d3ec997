extends "res://testlib.gd"
## The codec's round trip as a property: values generated from a fixed seed
## (every Variant kind godot/README.md lists, Strings with control characters
## and any code point GDScript can hold, Dictionary keys that look like the
## codec's markers) reach the guest unchanged (the test guest's `canonical`
## describes what it received, bit for bit, and this script computes the same
## text) and come back unchanged, up to the documented conversions: whole
## floats as int, integers beyond 2^53 as decimal Strings.

const SEED := 20261127
const CASES := 300
const MAX_SAFE := 9007199254740991
# Keys a user may well have, and the codec's own.
const KEYS := ["$bigint", "$base64", "$f64", "$number", "$buffer", "$type", "$", "$$", "$$bigint", "length", "__proto__", "constructor", "prototype", "toString", "", "0", "10", "a"]
# The NaN JS makes (and so the guest sees) for {"$number": "NaN"}.
const JS_NAN_HEX := "000000000000f87f"

var rng := RandomNumberGenerator.new()
var _cases := 0


func run_tests() -> void:
	ok(await WasmBridge.wait_ready(), "wait_ready() is true", WasmBridge.get_error())
	var controls := ""
	for c in range(1, 32):
		controls += String.chr(c)
	var fixed := [
		controls, "\v", String.chr(27) + "[31mred" + String.chr(27) + "[0m", "back\\slash \\v \\u0041 \"q\"",
		{"$bigint": "1000000016000000063"}, {"$base64": "AAE="}, {"$f64": "0000000000000080"},
		{"$number": "NaN"}, {"$buffer": 1}, {"$buffer": 1, "$type": "Uint8Array", "length": 3},
		{"$$bigint": {"$": [{"$type": "x"}]}}, {"__proto__": {"polluted": 1}, "constructor": 2},
		-0.0, 0.0, NAN, INF, -INF, 5e-324, 1.7976931348623157e308, 0.1, 3.0, 9007199254740993, -9223372036854775807 - 1,
		PackedByteArray(), PackedFloat64Array([-0.0, 1e-310]), [controls, {controls: controls}],
	]
	for v in fixed:
		await _check(v)
	rng.seed = SEED
	for i in CASES:
		await _check(_value(0))
	ok(_cases >= CASES, "ran the cases", _cases)
	ok(bool(JavaScriptBridge.eval("({}).polluted === undefined && Object.prototype.polluted === undefined", true)), "Object.prototype is not polluted")
	eq(int(JavaScriptBridge.eval("window.WasmBridge.bufferCount()", true)), 0, "no buffer is left in JS")


func _check(v: Variant) -> void:
	_cases += 1
	var seen = await WasmBridge.call("canonical", [v])
	var want := _canon(v)
	ok(seen is Dictionary and seen.get("ok") == true and seen.get("value") == want, "the guest receives case %d unchanged" % _cases, "sent %s\nexpected %s\ngot %s" % [_show(v), want, _show(seen)])
	var back = await WasmBridge.call("echo", [v])
	var expected = _expected(v)
	ok(back is Dictionary and back.get("ok") == true and same(back.get("value"), expected, true), "case %d comes back unchanged" % _cases, "sent %s, expected %s, got %s" % [_show(v), _show(expected), _show(back)])


# ---- generation ----

func _value(depth: int) -> Variant:
	var kind := rng.randi_range(0, 12 if depth < 3 else 10)
	match kind:
		0: return null
		1: return rng.randf() < 0.5
		2: return rng.randi_range(-100000, 100000)
		3: return _big_int()
		4: return _float()
		5, 6: return _string()
		7: return _bytes()
		8: return _packed_ints()
		9: return _packed_floats()
		10: return _string() if rng.randf() < 0.5 else _big_int()
		11:
			var out := []
			for i in rng.randi_range(0, 4):
				out.append(_value(depth + 1))
			return out
		_:
			var out := {}
			for i in rng.randi_range(0, 4):
				var key: String = KEYS[rng.randi_range(0, KEYS.size() - 1)] if rng.randf() < 0.6 else _string()
				out[key] = _value(depth + 1)
			return out


func _big_int() -> int:
	match rng.randi_range(0, 3):
		0: return MAX_SAFE + rng.randi_range(-3, 3)
		1: return -MAX_SAFE - rng.randi_range(-3, 3)
		2: return (int(rng.randi()) << 32) | int(rng.randi())
		_: return rng.randi_range(-2147483648, 2147483647) * 4294967296


func _float() -> float:
	const SPECIAL := [-0.0, 0.0, NAN, INF, -INF, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 3.0, 1152921504606846976.0, 4503599627370496.5]
	if rng.randf() < 0.3:
		return SPECIAL[rng.randi_range(0, SPECIAL.size() - 1)]
	var bytes := PackedByteArray()
	bytes.resize(8)
	if rng.randf() < 0.5:
		# Any double: random bits, NaN payloads left out.
		bytes.encode_u32(0, rng.randi())
		bytes.encode_u32(4, rng.randi())
		var x := bytes.decode_double(0)
		return 0.5 if is_nan(x) else x
	return (rng.randf() - 0.5) * pow(10.0, rng.randi_range(-30, 30))


func _string() -> String:
	var s := ""
	for i in rng.randi_range(0, 12):
		var r := rng.randf()
		var c: int
		if r < 0.3:
			c = rng.randi_range(1, 31)
		elif r < 0.55:
			c = rng.randi_range(32, 126)
		elif r < 0.8:
			c = rng.randi_range(128, 0xD7FF)
		elif r < 0.9:
			c = rng.randi_range(0xE000, 0xFFFD)
		else:
			c = rng.randi_range(0x10000, 0x10FFFF)
		s += String.chr(c)
	return s


func _bytes() -> PackedByteArray:
	var out := PackedByteArray()
	# Now and then one large enough to be staged in JS (WasmBridge.STAGE_BYTES).
	out.resize(rng.randi_range(0, 24) if rng.randf() < 0.9 else 5000)
	for i in out.size():
		out[i] = rng.randi() & 255
	return out


func _packed_ints() -> Variant:
	if rng.randf() < 0.5:
		var a := PackedInt32Array()
		for i in rng.randi_range(0, 6):
			a.append(int(rng.randi()) - 2147483648)
		return a
	var b := PackedInt64Array()
	for i in rng.randi_range(0, 6):
		b.append(_big_int())
	return b


func _packed_floats() -> Variant:
	if rng.randf() < 0.5:
		var a := PackedFloat32Array()
		for i in rng.randi_range(0, 6):
			a.append((rng.randf() - 0.5) * pow(10.0, rng.randi_range(-20, 20)))
		return a
	var b := PackedFloat64Array()
	for i in rng.randi_range(0, 6):
		var x := _float()
		b.append(0.25 if is_nan(x) else x)
	return b


# ---- what the guest sees: the test guest's `canonical`, computed here ----

func _f64_hex(x: float) -> String:
	var b := PackedByteArray()
	b.resize(8)
	b.encode_double(0, x)
	return b.hex_encode()


func _units(s: String) -> String:
	return "s:" + s.to_utf16_buffer().hex_encode()


func _canon(v: Variant) -> String:
	match typeof(v):
		TYPE_NIL: return "n"
		TYPE_BOOL: return "t" if v else "f"
		TYPE_INT:
			if v > MAX_SAFE or v < -MAX_SAFE:
				return "b:" + str(v)
			return "d:" + _f64_hex(float(v))
		TYPE_FLOAT:
			return "d:" + (JS_NAN_HEX if is_nan(v) else _f64_hex(v))
		TYPE_STRING: return _units(v)
		TYPE_PACKED_BYTE_ARRAY: return "T:Uint8Array:" + v.hex_encode()
		TYPE_PACKED_INT32_ARRAY: return "T:Int32Array:" + v.to_byte_array().hex_encode()
		TYPE_PACKED_INT64_ARRAY: return "T:BigInt64Array:" + v.to_byte_array().hex_encode()
		TYPE_PACKED_FLOAT32_ARRAY: return "T:Float32Array:" + v.to_byte_array().hex_encode()
		TYPE_PACKED_FLOAT64_ARRAY: return "T:Float64Array:" + v.to_byte_array().hex_encode()
		TYPE_ARRAY:
			var parts := PackedStringArray()
			for x in v:
				parts.append(_canon(x))
			return "[" + ",".join(parts) + "]"
		TYPE_DICTIONARY:
			var keys := []
			for k in v:
				keys.append([_units(k), k])
			keys.sort_custom(func(x, y): return x[0] < y[0])
			var parts := PackedStringArray()
			for pair in keys:
				parts.append(pair[0] + "=" + _canon(v[pair[1]]))
			return "{" + ",".join(parts) + "}"
	return "?"


# ---- what comes back ----

func _expected(v: Variant) -> Variant:
	match typeof(v):
		TYPE_INT:
			return str(v) if v > MAX_SAFE or v < -MAX_SAFE else v
		TYPE_FLOAT:
			if is_finite(v) and v == floorf(v) and absf(v) <= MAX_SAFE and not (v == 0.0 and 1.0 / v < 0.0):
				return int(v)
			return v
		TYPE_ARRAY:
			var out := []
			for x in v:
				out.append(_expected(x))
			return out
		TYPE_DICTIONARY:
			var out := {}
			for k in v:
				out[k] = _expected(v[k])
			return out
	return v


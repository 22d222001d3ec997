extends Node
## Base of the GDScript tests: checks record failures, `finish()` prints a
## summary and quits with 0 only when every check passed. A test overrides
## `run_tests()` (a coroutine).

var _checks := 0
var _failures := 0


func _ready() -> void:
	await run_tests()
	finish()


func run_tests() -> void:
	pass


func ok(condition: bool, name: String, detail: Variant = "") -> void:
	_checks += 1
	if condition:
		return
	_failures += 1
	printerr("FAIL %s %s" % [name, str(detail)])


## Strict equality: same types (int is not float) at every depth, NaN equals NaN.
## With [param bits], floats must have the same bits but for NaN payloads (so
## -0.0 differs from 0.0) and packed arrays the same bytes.
func same(a: Variant, b: Variant, bits := false) -> bool:
	if typeof(a) != typeof(b):
		return false
	match typeof(a):
		TYPE_FLOAT:
			if is_nan(a) or is_nan(b):
				return is_nan(a) and is_nan(b)
			return a == b and (not bits or signf(1.0 / a) == signf(1.0 / b))
		TYPE_ARRAY:
			if a.size() != b.size():
				return false
			for i in a.size():
				if not same(a[i], b[i], bits):
					return false
			return true
		TYPE_DICTIONARY:
			if a.size() != b.size():
				return false
			for k in a:
				if not b.has(k) or not same(a[k], b[k], bits):
					return false
			return true
		TYPE_PACKED_INT32_ARRAY, TYPE_PACKED_INT64_ARRAY, TYPE_PACKED_FLOAT32_ARRAY, TYPE_PACKED_FLOAT64_ARRAY:
			return a.to_byte_array() == b.to_byte_array() if bits else a == b
		_:
			return a == b


func eq(actual: Variant, expected: Variant, name: String) -> void:
	ok(same(actual, expected), name, "expected %s (%s), got %s (%s)" % [_show(expected), type_string(typeof(expected)), _show(actual), type_string(typeof(actual))])


func expect_error(result: Variant, code: String, name: String) -> void:
	var good: bool = result is Dictionary and result.get("ok") == false and result.get("error") is Dictionary and result.error.get("code") == code and result.error.get("message") is String and result.error.message != ""
	ok(good, name, "expected an error with code %s, got %s" % [code, _show(result)])


func _show(v: Variant) -> String:
	var s := var_to_str(v)
	return s if s.length() <= 300 else s.left(300) + "…"


func finish() -> void:
	print("RESULT checks=%d failures=%d" % [_checks, _failures])
	get_tree().quit(0 if _failures == 0 and _checks > 0 else 1)

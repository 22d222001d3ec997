extends Control
## The WasmBridge example: a calculator, Fibonacci with exact big results, and
## an image filter, all computed by the demo guest (Rust) in Web Workers while
## the game keeps running. The UI is built in code so the scene stays tiny.
##
## Run with the user argument `--smoke-test` (after `++`) it performs every
## action once, prints the results and quits with 0 when all worked; the
## repository's tests use that.

const IMAGE_SIZE := Vector2i(192, 128)
const FILTERS := {
	"grayscale": ["rec709"],
	"invert": [],
	"gaussianBlur": [3.0],
	"sharpen": [1.5],
}

var _status: Label
var _a: LineEdit
var _b: LineEdit
var _op: OptionButton
var _result: Label
var _fib_n: SpinBox
var _fib_result: Label
var _filter: OptionButton
var _filter_result: Label
var _original: TextureRect
var _filtered: TextureRect
var _source: Image


func _ready() -> void:
	_build_ui()
	_source = _make_image()
	_original.texture = ImageTexture.create_from_image(_source)
	WasmBridge.bridge_ready.connect(_on_bridge_ready)
	WasmBridge.bridge_failed.connect(_on_bridge_failed)
	if WasmBridge.is_ready():
		_on_bridge_ready()
	if "--smoke-test" in OS.get_cmdline_user_args():
		_smoke_test()


func _on_bridge_ready() -> void:
	_status.text = "Rust is ready: %d functions" % WasmBridge.functions().size()


func _on_bridge_failed(error: Dictionary) -> void:
	_status.text = "WasmBridge is unavailable (%s): %s" % [error.get("code"), error.get("message")]


# ---- calculator ----

func calculate() -> Dictionary:
	var function_name: String = ["add", "subtract", "multiply", "divide"][_op.selected]
	_result.text = "…"
	var r = await WasmBridge.call(function_name, [_a.text.to_float(), _b.text.to_float()], {"timeout_ms": 2000})
	_result.text = str(r.value) if r.ok else "%s: %s" % [r.error.code, r.error.message]
	return r


func fibonacci() -> Dictionary:
	_fib_result.text = "…"
	var r = await WasmBridge.call("fibonacci", [int(_fib_n.value)])
	# Results beyond 2^53 come as exact decimal strings.
	_fib_result.text = r.value if r.ok else "%s: %s" % [r.error.code, r.error.message]
	return r


# ---- image filter ----

func apply_filter() -> Dictionary:
	var filter_name: String = FILTERS.keys()[_filter.selected]
	var args: Array = [_source.get_data(), _source.get_width(), _source.get_height()]
	args.append_array(FILTERS[filter_name])
	_filter_result.text = "…"
	var t0 := Time.get_ticks_msec()
	# The PackedByteArray travels to the worker as bytes and comes back as one.
	var r = await WasmBridge.call(filter_name, args, {"timeout_ms": 5000})
	if not r.ok:
		_filter_result.text = "%s: %s" % [r.error.code, r.error.message]
		return r
	var out := Image.create_from_data(_source.get_width(), _source.get_height(), false, Image.FORMAT_RGBA8, r.value)
	_filtered.texture = ImageTexture.create_from_image(out)
	_filter_result.text = "%s in %d ms" % [filter_name, Time.get_ticks_msec() - t0]
	return r


@warning_ignore("integer_division")
func _make_image() -> Image:
	var img := Image.create_empty(IMAGE_SIZE.x, IMAGE_SIZE.y, false, Image.FORMAT_RGBA8)
	for y in IMAGE_SIZE.y:
		for x in IMAGE_SIZE.x:
			var checker := ((x / 16) + (y / 16)) % 2 == 0
			var c := Color(float(x) / IMAGE_SIZE.x, float(y) / IMAGE_SIZE.y, 0.6 if checker else 0.2)
			img.set_pixel(x, y, c)
	return img


# ---- smoke test ----

func _smoke_test() -> void:
	var failures := 0
	if not await WasmBridge.wait_ready():
		printerr("smoke: the bridge is not ready: ", WasmBridge.get_error())
		get_tree().quit(1)
		return
	_a.text = "7"
	_b.text = "2"
	_op.select(3)
	var r := await calculate()
	print("smoke: 7 / 2 = ", r)
	if not (r.ok and is_equal_approx(r.value, 3.5)):
		failures += 1
	_b.text = "0"
	r = await calculate()
	print("smoke: 7 / 0 = ", r)
	if r.ok or r.error.code != "GUEST_ERROR":
		failures += 1
	_fib_n.value = 90
	r = await fibonacci()
	print("smoke: fibonacci(90) = ", r)
	if not (r.ok and r.value == "2880067194370816120"):
		failures += 1
	for i in FILTERS.size():
		_filter.select(i)
		r = await apply_filter()
		var size: int = r.value.size() if r.ok else -1
		print("smoke: %s -> %d bytes" % [FILTERS.keys()[i], size])
		if not (r.ok and size == IMAGE_SIZE.x * IMAGE_SIZE.y * 4 and _filtered.texture != null):
			failures += 1
	print("smoke: %d failure(s)" % failures)
	get_tree().quit(0 if failures == 0 else 1)


# ---- UI ----

func _build_ui() -> void:
	var margin := MarginContainer.new()
	margin.set_anchors_and_offsets_preset(Control.PRESET_FULL_RECT)
	for side in ["left", "right", "top", "bottom"]:
		margin.add_theme_constant_override("margin_" + side, 16)
	add_child(margin)
	var column := VBoxContainer.new()
	column.add_theme_constant_override("separation", 12)
	margin.add_child(column)

	_status = Label.new()
	_status.text = "Loading Rust…"
	column.add_child(_status)

	column.add_child(_heading("Calculator"))
	var calc := HBoxContainer.new()
	_a = _line_edit("12.5")
	_op = OptionButton.new()
	for label in ["+", "−", "×", "÷"]:
		_op.add_item(label)
	_b = _line_edit("4")
	var equals := Button.new()
	equals.text = "="
	equals.pressed.connect(calculate)
	_result = Label.new()
	for c in [_a, _op, _b, equals, _result]:
		calc.add_child(c)
	column.add_child(calc)

	column.add_child(_heading("Fibonacci (exact, any size)"))
	var fib := HBoxContainer.new()
	_fib_n = SpinBox.new()
	_fib_n.max_value = 100000
	_fib_n.value = 90
	var fib_button := Button.new()
	fib_button.text = "fibonacci(n)"
	fib_button.pressed.connect(fibonacci)
	_fib_result = Label.new()
	_fib_result.autowrap_mode = TextServer.AUTOWRAP_ARBITRARY
	_fib_result.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	for c in [_fib_n, fib_button, _fib_result]:
		fib.add_child(c)
	column.add_child(fib)

	column.add_child(_heading("Image filter"))
	var controls := HBoxContainer.new()
	_filter = OptionButton.new()
	for filter_name in FILTERS:
		_filter.add_item(filter_name)
	var apply := Button.new()
	apply.text = "Apply"
	apply.pressed.connect(apply_filter)
	_filter_result = Label.new()
	for c in [_filter, apply, _filter_result]:
		controls.add_child(c)
	column.add_child(controls)
	var images := HBoxContainer.new()
	_original = TextureRect.new()
	_filtered = TextureRect.new()
	for t in [_original, _filtered]:
		t.custom_minimum_size = Vector2(IMAGE_SIZE) * 1.5
		t.stretch_mode = TextureRect.STRETCH_KEEP_ASPECT_CENTERED
		t.expand_mode = TextureRect.EXPAND_IGNORE_SIZE
		images.add_child(t)
	column.add_child(images)


func _heading(text: String) -> Label:
	var label := Label.new()
	label.text = text
	label.add_theme_font_size_override("font_size", 20)
	return label


func _line_edit(text: String) -> LineEdit:
	var edit := LineEdit.new()
	edit.text = text
	edit.custom_minimum_size.x = 100
	return edit

@icon("res://addons/wasmbridge/icon.svg")
extends Node
## Calls Rust functions compiled to WebAssembly (a wasmbridge bundle) from
## GDScript in a web export. The plugin registers this script as the autoload
## [code]WasmBridge[/code].
##
## [codeblock]
## var r = await WasmBridge.call("fibonacci", [90])
## if r.ok:
##     print(r.value)
## else:
##     print(r.error.code, ": ", r.error.message)
## [/codeblock]
##
## Every call settles exactly once with a Dictionary:
## [code]{ok = true, value = ...}[/code] or
## [code]{ok = false, error = {code = "...", message = "...", data = ...}}[/code].
## It never throws and never crashes the game: outside a web export every call
## fails with [code]NOT_WEB[/code]; when the page lacks [code]window.WasmBridge[/code]
## (the export's HTML does not load wasmbridge/godot.js) with [code]UNAVAILABLE[/code].
##
## Values: null, bool, int, float, String, Array and Dictionary travel as JSON.
## Strings keep every character; Dictionary keys keep their text, also keys
## such as [code]"$bigint"[/code] that look like the codec's own markers.
## Whole numbers come back as int (as JavaScriptBridge does), others as float.
## Integers beyond 2^53 travel as BigInt (results: decimal Strings).
## PackedByteArray travels as base64 to the guest and comes back as
## PackedByteArray; PackedInt32/Int64/Float32/Float64Array map to the matching
## JS typed arrays and back.

## Emitted once the worker pool is ready. (Not [code]ready[/code]: that is
## Node's signal for entering the scene tree.)
signal bridge_ready
## Emitted when the bridge cannot be used: the pool failed to start
## ([code]INIT_FAILED[/code]), [code]window.WasmBridge[/code] never appeared
## ([code]UNAVAILABLE[/code]) or the game is not a web export ([code]NOT_WEB[/code]).
signal bridge_failed(error: Dictionary)
## Emitted when any call settles, with the call's id and result.
signal call_completed(id: int, result: Dictionary)
## Emitted when any call reports progress (a fraction in [0, 1]).
signal call_progress(id: int, fraction: float)
signal _state_changed

## Project setting: ms to wait for [code]window.WasmBridge[/code] to appear before
## calls fail with [code]UNAVAILABLE[/code].
const SETTING_LOAD_TIMEOUT := "wasmbridge/load_timeout_ms"
const DEFAULT_LOAD_TIMEOUT_MS := 10000
const MAX_SAFE_INTEGER := 9007199254740991

const _TYPED_ARRAYS := {
	TYPE_PACKED_INT32_ARRAY: "Int32Array",
	TYPE_PACKED_INT64_ARRAY: "BigInt64Array",
	TYPE_PACKED_FLOAT32_ARRAY: "Float32Array",
	TYPE_PACKED_FLOAT64_ARRAY: "Float64Array",
}

const _OPTIONS_PROGRESS := '{"progress":true}'
const _OPTION_KEYS: PackedStringArray = ["timeout_ms", "keep_buffers"]
## Byte arrays at least this large are staged in JS (putBase64) instead of inlined in the JSON.
const STAGE_BYTES := 4096

enum State { STARTING, WAITING_FOR_PAGE, LOADING, READY, FAILED, NOT_WEB }


## One call in flight. [method WasmBridge.start] returns it; await [method wait]
## (or the [signal completed] signal) for its result.
class Job:
	extends RefCounted
	## Emitted once, with the result Dictionary.
	signal completed(result: Dictionary)
	## Emitted when the guest reports progress (a fraction in [0, 1]).
	signal progress(fraction: float)

	var id := 0
	var function_name := ""
	var result := {}
	var done := false
	var _bridge  # the WasmBridge node
	var _js_id := 0
	var _keep_buffers := false
	var _args_json := ""
	var _timeout_ms := 0
	var _started_ms := 0

	## The result, once the call settles (at once if it has).
	func wait() -> Dictionary:
		if not done:
			await completed
		return result

	## Cancels the call; it settles with [code]CANCELLED[/code]. False when it already settled.
	func cancel() -> bool:
		return _bridge.cancel(id)


## Bytes a call made with [code]{keep_buffers = true}[/code] left in JS: pass it
## as an argument of another call (the bytes never come through GDScript), read
## it with [method WasmBridge.take_bytes] or drop it with
## [method WasmBridge.release_buffer]. Used once.
class Buffer:
	extends RefCounted
	var handle := 0
	## The JS type of the bytes: "Uint8Array", "Float32Array", ...
	var type := ""
	## Elements (bytes for an ArrayBuffer).
	var length := 0


var load_timeout_ms: int = DEFAULT_LOAD_TIMEOUT_MS

var _state := State.STARTING
var _failure := {}
var _js = null  # window.WasmBridge (a JavaScriptObject)
# JavaScriptBridge frees a callback whose object is freed: keep them in members.
var _on_result_cb = null
var _on_ready_cb = null
var _on_failed_cb = null
var _jobs := {}  # id -> Job, until it settles
var _by_js_id := {}  # JS call id -> Job
var _waiting: Array[Job] = []  # started before window.WasmBridge appeared
var _next_id := 1
var _wait_since_ms := 0
var _encode_error := ""
var _path := []
var _staged: Array[int] = []


func _init() -> void:
	process_mode = Node.PROCESS_MODE_ALWAYS


func _ready() -> void:
	_start()
	set_process(_state == State.WAITING_FOR_PAGE)


## True once the worker pool is ready. Calls made before that wait for it.
func is_ready() -> bool:
	_start()
	return _state == State.READY


## Waits until the bridge is ready; true when it is, false when it cannot be
## (see [signal bridge_failed] and [method get_error]).
func wait_ready() -> bool:
	_start()
	while _state == State.WAITING_FOR_PAGE or _state == State.LOADING:
		await _state_changed
	return _state == State.READY


## Why the bridge cannot be used ([code]{code, message}[/code]), or {} while it can.
func get_error() -> Dictionary:
	_start()
	return _failure.duplicate(true)


## The guest's functions from its manifest: [code][{name, params: [{name, type, optional}], returns, doc}][/code].
## Empty until ready.
func functions() -> Array:
	_start()
	if _js == null:
		return []
	var parsed = _parse_json(str(_js.functions()))
	return parsed if parsed is Array else []


## Calls [param function_name] with [param args] and returns its result
## Dictionary. Options: [code]timeout_ms[/code] (int, 0 = none);
## [code]keep_buffers[/code] (bool): bytes in the result stay in JS as
## [WasmBridge.Buffer] objects to pass to another call or to read with
## [method take_bytes].
## Same as [method invoke]; use [method invoke] when you hold this node in a
## variable typed [Node], where [code]call()[/code] would mean [method Object.call].
@warning_ignore("native_method_override")
func call(function_name: StringName, args: Array = [], options: Dictionary = {}) -> Variant:
	# Awaits the signal here rather than job.wait(): one coroutine per call.
	var job := start(function_name, args, options)
	if not job.done:
		await job.completed
	return job.result


## Calls [param function_name] with [param args]; see [method call].
func invoke(function_name: StringName, args: Array = [], options: Dictionary = {}) -> Dictionary:
	var job := start(function_name, args, options)
	if not job.done:
		await job.completed
	return job.result


## Starts a call and returns its [Job] at once: await [code]job.wait()[/code],
## connect to [code]job.progress[/code], or cancel it with [code]job.cancel()[/code].
func start(function_name: StringName, args: Array = [], options: Dictionary = {}) -> Job:
	if _state == State.STARTING:
		_start()
	var job := Job.new()
	job.id = _next_id
	_next_id += 1
	job.function_name = String(function_name)
	job._bridge = self
	_jobs[job.id] = job

	if not options.is_empty():
		for key in options:
			if not str(key) in _OPTION_KEYS:
				_finish_later(job, _error("BAD_ARGUMENT", "unknown option %s: the options are %s" % [str(key), ", ".join(_OPTION_KEYS)]))
				return job
		var timeout = options.get("timeout_ms", 0)
		if not (timeout is int or timeout is float) or timeout < 0:
			_finish_later(job, _error("BAD_ARGUMENT", "options.timeout_ms must be a number of ms >= 0, got %s" % [var_to_str(timeout)]))
			return job
		job._timeout_ms = int(timeout)
		job._started_ms = Time.get_ticks_msec()
		job._keep_buffers = bool(options.get("keep_buffers", false))

	# Godot writes control characters raw (and \v as "\v"); godot-codec.js
	# reads them back as the characters they were. Most calls pass a few
	# scalars JSON carries as they are: they skip the encoder's copy.
	var plain := true
	for a in args:
		match typeof(a):
			TYPE_NIL, TYPE_BOOL, TYPE_STRING:
				pass
			TYPE_INT:
				if a > MAX_SAFE_INTEGER or a < -MAX_SAFE_INTEGER:
					plain = false
					break
			TYPE_FLOAT:
				if not is_finite(a) or (a == 0.0 and 1.0 / a < 0.0):
					plain = false
					break
			_:
				plain = false
				break
	if plain:
		job._args_json = JSON.stringify(args, "", false, true)
	else:
		_encode_error = ""
		var encoded = _encode(args, 0)
		if _encode_error != "":
			for handle in _staged:
				_js.releaseBuffer(handle)
			_staged.clear()
			_path.clear()
			_finish_later(job, _error("BAD_ARGUMENT", "%s: %s" % [job.function_name, _encode_error]))
			return job
		_staged.clear()
		job._args_json = JSON.stringify(encoded, "", false, true)

	# The page may have loaded godot.js since the last frame, or (after
	# UNAVAILABLE) much later than expected: look again.
	if _state == State.WAITING_FOR_PAGE or (_state == State.FAILED and _failure.get("code") == "UNAVAILABLE"):
		_attach()
	match _state:
		State.NOT_WEB, State.FAILED:
			_finish_later(job, {"ok": false, "error": _failure.duplicate(true)})
		State.WAITING_FOR_PAGE:
			_waiting.append(job)
		_:
			_send(job)
	return job


## Cancels call [param id]: it settles with [code]CANCELLED[/code]. False when
## there is no such call in flight.
func cancel(id: int) -> bool:
	var job: Job = _jobs.get(id)
	if job == null or job.done:
		return false
	if job._js_id != 0:
		return bool(_js.cancel(job._js_id))
	_waiting.erase(job)
	_finish_later(job, _error("CANCELLED", "%s was cancelled" % job.function_name))
	return true


## The bytes behind a [WasmBridge.Buffer] from a call made with
## [code]{keep_buffers = true}[/code], converted like any result
## (PackedFloat32Array for a Float32Array, ...). A buffer is used once: by
## this, by [method release_buffer], or by passing it as an argument of
## another call (which keeps the bytes in JS).
func take_bytes(buffer: Buffer) -> Variant:
	if _js == null or buffer == null:
		return PackedByteArray()
	return _take_buffer(buffer.handle, buffer.type)


## Drops the bytes behind a [WasmBridge.Buffer] that will not be used.
func release_buffer(buffer: Buffer) -> void:
	if _js != null and buffer != null:
		_js.releaseBuffer(buffer.handle)


## Calls not yet settled.
func pending_count() -> int:
	return _jobs.size()


## The pool's statistics (workers, functions, queue), or {} when unavailable.
func stats() -> Dictionary:
	if _js == null:
		return {}
	var parsed = _parse_json(str(_js.stats()))
	return parsed if parsed is Dictionary else {}


# ---- start-up ----

func _start() -> void:
	if _state != State.STARTING:
		return
	if not OS.has_feature("web"):
		_fail(_error_body("NOT_WEB", "WasmBridge needs a web export; this game runs on %s" % OS.get_name()))
		return
	load_timeout_ms = int(ProjectSettings.get_setting(SETTING_LOAD_TIMEOUT, DEFAULT_LOAD_TIMEOUT_MS))
	_on_result_cb = JavaScriptBridge.create_callback(_on_js_result)
	_on_ready_cb = JavaScriptBridge.create_callback(_on_js_ready)
	_on_failed_cb = JavaScriptBridge.create_callback(_on_js_failed)
	_state = State.WAITING_FOR_PAGE
	_wait_since_ms = Time.get_ticks_msec()
	if not _attach():
		# The module script may still be loading: look again every frame.
		set_process(true)


# Asks JS whether window.WasmBridge is there before get_interface, which logs
# an engine error for every miss.
const _PROBE := "typeof window.WasmBridge === 'object' && window.WasmBridge !== null && typeof window.WasmBridge.invoke === 'function'"


func _attach() -> bool:
	if not JavaScriptBridge.eval(_PROBE, true):
		return false
	var wb = JavaScriptBridge.get_interface("WasmBridge")
	if wb == null:
		return false
	_js = wb
	_failure = {}
	set_process(false)
	var js_state = str(_js.state())
	if js_state == "ready":
		_set_state(State.READY)
		bridge_ready.emit.call_deferred()
	elif js_state == "failed":
		var err = _parse_json(str(_js.error()))
		_fail(err if err is Dictionary else _error_body("INIT_FAILED", "the wasmbridge pool failed to start"))
	else:
		_set_state(State.LOADING)
		_js.ready(_on_ready_cb, _on_failed_cb)
	var waiting := _waiting
	_waiting = []
	for job in waiting:
		if job.done:
			continue
		if _state == State.FAILED:
			_finish(job, {"ok": false, "error": _failure.duplicate(true)})
		else:
			_send(job)
	return true


func _process(_delta: float) -> void:
	if _state != State.WAITING_FOR_PAGE:
		set_process(false)
		return
	if _attach():
		return
	var now := Time.get_ticks_msec()
	for job in _waiting.duplicate():
		if job._timeout_ms > 0 and now - job._started_ms >= job._timeout_ms:
			_waiting.erase(job)
			_finish(job, _error("TIMEOUT", "%s did not finish within %d ms (window.WasmBridge was not there yet)" % [job.function_name, job._timeout_ms]))
	if now - _wait_since_ms >= load_timeout_ms:
		set_process(false)
		_fail(_error_body("UNAVAILABLE", "window.WasmBridge is missing after %d ms: the page must load wasmbridge/godot.js (run `wasmbridge godot install <export-dir>`, or add its <script> to the export's html/head_include)" % load_timeout_ms))


func _fail(error: Dictionary) -> void:
	_failure = error
	var state := State.NOT_WEB if error.get("code") == "NOT_WEB" else State.FAILED
	_set_state(state)
	var waiting := _waiting
	_waiting = []
	for job in waiting:
		_finish(job, {"ok": false, "error": error.duplicate(true)})
	bridge_failed.emit.call_deferred(error.duplicate(true))


func _set_state(state: State) -> void:
	_state = state
	_state_changed.emit()


func _on_js_ready(_args: Array) -> void:
	if _state == State.LOADING:
		_set_state(State.READY)
		bridge_ready.emit()


func _on_js_failed(args: Array) -> void:
	var msg = _parse_json(str(args[0])) if args.size() > 0 else null
	var err = msg.get("error") if msg is Dictionary else null
	_fail(err if err is Dictionary else _error_body("INIT_FAILED", "the wasmbridge pool failed to start"))


# ---- calls ----

func _send(job: Job) -> void:
	var options := _OPTIONS_PROGRESS
	if job._timeout_ms > 0:
		var left := job._timeout_ms - (Time.get_ticks_msec() - job._started_ms)
		if left <= 0:
			_finish_later(job, _error("TIMEOUT", "%s did not finish within %d ms" % [job.function_name, job._timeout_ms]))
			return
		options = '{"progress":true,"timeout":%d}' % left
	# invoke() is call() under a name Godot's own Object.call does not shadow.
	var js_id = _js.invoke(job.function_name, job._args_json, _on_result_cb, options)
	if not (js_id is int or js_id is float) or int(js_id) <= 0:
		_finish_later(job, _error("UNAVAILABLE", "window.WasmBridge.invoke did not accept %s (is wasmbridge/godot.js from an older version?)" % job.function_name))
		return
	job._js_id = int(js_id)
	_by_js_id[job._js_id] = job


func _on_js_result(args: Array) -> void:
	if args.is_empty() or typeof(args[0]) != TYPE_STRING:
		return
	var msg = JSON.parse_string(args[0])
	if not msg is Dictionary:
		push_error("wasmbridge: unreadable message from window.WasmBridge: %s" % str(args[0]).left(200))
		return
	var js_id := int(msg.get("id", 0))
	var job: Job = _by_js_id.get(js_id)
	if msg.has("progress"):
		if job != null and not job.done:
			var fraction := float(msg["progress"])
			job.progress.emit(fraction)
			call_progress.emit(job.id, fraction)
		return
	_by_js_id.erase(js_id)
	# Decoded even for an unknown call, so its buffers are taken and freed.
	var keep := job != null and job._keep_buffers
	var result: Dictionary
	if msg.get("ok") == true:
		result = {"ok": true, "value": _decode(msg.get("value"), keep)}
	else:
		var err = msg.get("error")
		if not err is Dictionary:
			err = _error_body("BAD_RESULT", "a failed call came back without an error")
		result = {"ok": false, "error": _decode(err, false)}
	if job != null:
		_finish(job, result)


func _finish(job: Job, result: Dictionary) -> void:
	if job.done:
		return
	job.done = true
	job.result = result
	_jobs.erase(job.id)
	job.completed.emit(result)
	call_completed.emit(job.id, result)


# Local failures settle on the next idle time, never before start() returns.
func _finish_later(job: Job, result: Dictionary) -> void:
	_finish.call_deferred(job, result)


# ---- values ----

# The GDScript half of the codec; the JS half is crates/wasmbridge/runtime/godot-codec.js.
# Turns GDScript values into what godot-codec.js decodes. `_path` holds the keys
# down to the value being encoded; it is formatted only for an error message.
func _encode(v, depth: int):
	if depth > 64:
		_encode_fail("nested more than 64 levels deep")
		return null
	match typeof(v):
		TYPE_NIL, TYPE_BOOL, TYPE_STRING:
			return v
		TYPE_INT:
			if v > MAX_SAFE_INTEGER or v < -MAX_SAFE_INTEGER:
				return {"$bigint": str(v)}
			return v
		TYPE_FLOAT:
			if is_nan(v):
				return {"$number": "NaN"}
			if is_inf(v):
				return {"$number": "Infinity" if v > 0 else "-Infinity"}
			if v == 0.0 and 1.0 / v < 0.0:
				return {"$f64": "0000000000000080"}  # JSON.stringify writes -0.0 as 0.0
			return v
		TYPE_STRING_NAME, TYPE_NODE_PATH:
			return str(v)
		TYPE_ARRAY, TYPE_PACKED_STRING_ARRAY, TYPE_PACKED_VECTOR2_ARRAY, TYPE_PACKED_VECTOR3_ARRAY, TYPE_PACKED_COLOR_ARRAY:
			var out := []
			out.resize(v.size())
			_path.append(0)
			for i in v.size():
				_path[-1] = i
				out[i] = _encode(v[i], depth + 1)
			_path.pop_back()
			return out
		TYPE_DICTIONARY:
			var out := {}
			_path.append("")
			for key in v:
				_path[-1] = key
				var name := str(key)
				# A key that starts with $ gets one more, so it is never taken for a marker.
				out["$" + name if name.begins_with("$") else name] = _encode(v[key], depth + 1)
			_path.pop_back()
			return out
		TYPE_OBJECT:
			if v is Buffer:
				return {"$buffer": v.handle}
			_encode_fail("a %s cannot be sent to a wasm guest (send null, bool, numbers, String, Array, Dictionary, packed arrays or a WasmBridge.Buffer)" % v.get_class())
			return null
		TYPE_PACKED_BYTE_ARRAY:
			return _encode_bytes(v, "")
		TYPE_PACKED_INT32_ARRAY, TYPE_PACKED_INT64_ARRAY, TYPE_PACKED_FLOAT32_ARRAY, TYPE_PACKED_FLOAT64_ARRAY:
			return _encode_bytes(v.to_byte_array(), _TYPED_ARRAYS[typeof(v)])
		TYPE_VECTOR2, TYPE_VECTOR2I:
			return [v.x, v.y]
		TYPE_VECTOR3, TYPE_VECTOR3I:
			return [v.x, v.y, v.z]
		TYPE_VECTOR4, TYPE_VECTOR4I:
			return [v.x, v.y, v.z, v.w]
		TYPE_COLOR:
			return [v.r, v.g, v.b, v.a]
		_:
			_encode_fail("a %s cannot be sent to a wasm guest (send null, bool, numbers, String, Array, Dictionary or packed arrays)" % type_string(typeof(v)))
			return null


# Bytes travel as base64. Large arrays go to JS as a string argument of their
# own (putBase64) and are referred to by handle: Godot then skips escaping
# and JS skips parsing megabytes of JSON.
func _encode_bytes(bytes: PackedByteArray, type: String) -> Dictionary:
	# raw_to_base64 logs an engine error for an empty array.
	var b64 := Marshalls.raw_to_base64(bytes) if not bytes.is_empty() else ""
	if _js != null and bytes.size() >= STAGE_BYTES:
		var handle = _js.putBase64(b64, type)
		if (handle is int or handle is float) and int(handle) > 0:
			_staged.append(int(handle))
			return {"$buffer": int(handle)}
	if type == "":
		return {"$base64": b64}
	return {"$base64": b64, "$type": type}


func _encode_fail(what: String) -> void:
	if _encode_error != "":
		return
	var where := "args"
	for key in _path:
		where += "[%d]" % key if key is int else ".%s" % str(key)
	_encode_error = "%s: %s" % [where, what]


func _decode(v, keep_buffers: bool):
	match typeof(v):
		TYPE_FLOAT:
			# JSON has one number type; whole numbers become int, like JavaScriptBridge's.
			if v == floorf(v) and absf(v) <= MAX_SAFE_INTEGER:
				return int(v)
			return v
		TYPE_ARRAY:
			var out := []
			out.resize(v.size())
			for i in v.size():
				out[i] = _decode(v[i], keep_buffers)
			return out
		TYPE_DICTIONARY:
			# godot-codec.js writes markers with keys that start with one $ and
			# user keys that start with $ with one more.
			if v.has("$buffer"):
				if keep_buffers:
					var buffer := Buffer.new()
					buffer.handle = int(v["$buffer"])
					buffer.type = str(v.get("$type", "Uint8Array"))
					buffer.length = int(v.get("length", 0))
					return buffer
				return _take_buffer(int(v["$buffer"]), str(v.get("$type", "")))
			if v.has("$f64"):
				# -0.0, or a double Godot's JSON parser would round wrongly, as its 8 little-endian bytes.
				var raw: PackedByteArray = str(v["$f64"]).hex_decode()
				return raw.decode_double(0) if raw.size() == 8 else NAN
			if v.has("$number"):
				match str(v["$number"]):
					"Infinity": return INF
					"-Infinity": return -INF
					_: return NAN
			var out := {}
			for key in v:
				out[key.substr(1) if key.begins_with("$") else key] = _decode(v[key], keep_buffers)
			return out
		_:
			return v


func _take_buffer(handle: int, type: String):
	var buffer = _js.takeBuffer(handle)
	if buffer == null:
		push_error("wasmbridge: buffer %d is gone (taken already, or expired)" % handle)
		return PackedByteArray()
	var bytes: PackedByteArray = JavaScriptBridge.js_buffer_to_packed_byte_array(buffer)
	match type:
		"Float32Array": return bytes.to_float32_array()
		"Float64Array": return bytes.to_float64_array()
		"Int32Array": return bytes.to_int32_array()
		"BigInt64Array": return bytes.to_int64_array()
		_: return bytes


# ---- helpers ----

func _parse_json(text: String):
	var json := JSON.new()
	if json.parse(text) != OK:
		return null
	return json.data


func _error_body(code: String, message: String) -> Dictionary:
	return {"code": code, "message": message}


func _error(code: String, message: String) -> Dictionary:
	return {"ok": false, "error": _error_body(code, message)}

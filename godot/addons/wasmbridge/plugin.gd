@tool
extends EditorPlugin
## Registers the WasmBridge autoload and its project setting while the plugin is enabled.

const AUTOLOAD_NAME := "WasmBridge"
const WasmBridgeScript := preload("wasmbridge.gd")


func _enable_plugin() -> void:
	add_autoload_singleton(AUTOLOAD_NAME, get_script().resource_path.get_base_dir().path_join("wasmbridge.gd"))
	var setting := WasmBridgeScript.SETTING_LOAD_TIMEOUT
	if not ProjectSettings.has_setting(setting):
		ProjectSettings.set_setting(setting, WasmBridgeScript.DEFAULT_LOAD_TIMEOUT_MS)
	ProjectSettings.set_initial_value(setting, WasmBridgeScript.DEFAULT_LOAD_TIMEOUT_MS)
	ProjectSettings.add_property_info({
		"name": setting,
		"type": TYPE_INT,
		"hint": PROPERTY_HINT_RANGE,
		"hint_string": "0,120000,100,suffix:ms",
	})


func _disable_plugin() -> void:
	remove_autoload_singleton(AUTOLOAD_NAME)

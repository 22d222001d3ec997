extends Node
## The runner pack's main scene: loads the test script named by the first user
## argument (after `++`) from the engine's file system and runs it as a child.


func _ready() -> void:
	var args := OS.get_cmdline_user_args()
	if args.is_empty():
		printerr("runner: no test script given (pass it after ++)")
		get_tree().quit(2)
		return
	var script = load(args[0])
	if script == null:
		printerr("runner: cannot load ", args[0])
		get_tree().quit(3)
		return
	var node := Node.new()
	node.name = "Test"
	node.set_script(script)
	add_child(node)

//! The seed's game: state updates and level summaries, JSON in and out.

use crate::args::{bad, to_json};
use compute::game;
use wasm_bindgen::prelude::*;
use wasmbridge_guest::Result;

/// Moves the player of `{"x","y","score","gameOver"}` ("" starts a new game) by "up", "down", "left" or "right"; returns the new state JSON.
#[wasm_bindgen(js_name = "updateGameState")]
pub fn update_game_state(state_json: String, input: String) -> Result<String> {
    game::update_game_state(&state_json, &input).map_err(bad)
}

/// Validates a level `{"player": {...}, "enemies": [...]}` and returns its summary JSON: enemy counts by type, total health, nearest enemy.
#[wasm_bindgen(js_name = "processGameData")]
pub fn process_game_data(json: String) -> Result<String> {
    to_json(&game::process_game_data(&json).map_err(bad)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn json_in_json_out() {
        assert_eq!(
            update_game_state("".into(), "left".into()).unwrap(),
            r#"{"x":390.0,"y":300.0,"score":1,"gameOver":false}"#
        );
        let level = r#"{"player": {"name": "Hero", "level": 10, "health": 100, "position": {"x": 100, "y": 200}}, "enemies": [{"type": "goblin", "health": 50, "position": {"x": 150, "y": 250}}]}"#;
        let summary: serde_json::Value =
            serde_json::from_str(&process_game_data(level.into()).unwrap()).unwrap();
        assert_eq!(summary["enemyCount"], 1);
        assert_eq!(summary["nearestEnemy"]["index"], 0);
        let err = process_game_data("{}".into()).unwrap_err();
        assert_eq!(
            (err.code(), err.message()),
            (
                "BAD_ARGUMENT",
                "player: expected an object, got nothing (the field is missing)"
            )
        );
    }
}

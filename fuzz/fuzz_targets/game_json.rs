//! Arbitrary text into the game's JSON entry points: never a panic, and every
//! accepted input gives a self-consistent answer.

#![no_main]

use compute::game::{self, GameState};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(summary) = game::process_game_data(text) {
        assert_eq!(
            summary.enemies_by_type.values().sum::<usize>(),
            summary.enemy_count
        );
        assert_eq!(summary.nearest_enemy.is_some(), summary.enemy_count > 0);
        assert!(summary.total_enemy_health >= 0.0);
        serde_json::to_string(&summary).expect("a summary always serialises");
    }
    let input = ["up", "down", "left", "right", "jump"][data.len() % 5];
    if let Ok(next) = game::update_game_state(text, input) {
        let state = GameState::from_json(&next).expect("the output is a valid state");
        let inside = (0.0..=game::FIELD_WIDTH).contains(&state.x)
            && (0.0..=game::FIELD_HEIGHT).contains(&state.y);
        assert!(state.game_over || inside);
        if state.game_over {
            assert_eq!(
                game::update_game_state(&next, "up").expect("still valid"),
                next
            );
        }
    }
});

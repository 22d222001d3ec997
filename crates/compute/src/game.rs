//! The seed's game rules: a player moving on an 800×600 field, and the
//! validation and summary of a level described in JSON. Every type error
//! names the field path, e.g. `enemies[1].position.x: expected a number, got "a"`.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use thiserror::Error;

/// Width of the field: `x` must stay in `0..=800`.
pub const FIELD_WIDTH: f64 = 800.0;
/// Height of the field: `y` must stay in `0..=600`.
pub const FIELD_HEIGHT: f64 = 600.0;
/// How far one input moves the player.
pub const STEP: f64 = 10.0;

/// Why game JSON or input was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GameError {
    #[error("expected valid JSON, got {0}")]
    Json(String),
    #[error("{path}: expected {expected}, got {got}")]
    Field {
        path: String,
        expected: &'static str,
        got: String,
    },
    #[error("input: expected \"up\", \"down\", \"left\" or \"right\", got {0:?}")]
    UnknownInput(String),
}

/// The player's state, as JSON `{"x":400,"y":300,"score":0,"gameOver":false}`.
/// `x` and `y` are required; `score` and `gameOver` default to 0 and false;
/// other keys are ignored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GameState {
    pub x: f64,
    pub y: f64,
    pub score: u64,
    pub game_over: bool,
}

impl Default for GameState {
    /// A new game: the player in the middle of the field.
    fn default() -> Self {
        GameState {
            x: FIELD_WIDTH / 2.0,
            y: FIELD_HEIGHT / 2.0,
            score: 0,
            game_over: false,
        }
    }
}

/// One move; `Up` decreases `y` (screen coordinates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Up,
    Down,
    Left,
    Right,
}

impl Input {
    /// Parses `"up"`, `"down"`, `"left"` or `"right"`.
    pub fn parse(text: &str) -> Result<Input, GameError> {
        match text {
            "up" => Ok(Input::Up),
            "down" => Ok(Input::Down),
            "left" => Ok(Input::Left),
            "right" => Ok(Input::Right),
            other => Err(GameError::UnknownInput(other.to_string())),
        }
    }
}

impl GameState {
    /// Reads a state from JSON; an empty string or `null` is a new game.
    pub fn from_json(json: &str) -> Result<GameState, GameError> {
        if json.trim().is_empty() {
            return Ok(GameState::default());
        }
        let value = parse(json)?;
        let root = At::root(&value);
        if value.is_null() {
            return Ok(GameState::default());
        }
        let state = root.object()?;
        Ok(GameState {
            x: state.field("x").number()?,
            y: state.field("y").number()?,
            score: state
                .optional("score")
                .map(|s| s.count())
                .transpose()?
                .unwrap_or(0),
            game_over: state
                .optional("gameOver")
                .map(|g| g.boolean())
                .transpose()?
                .unwrap_or(false),
        })
    }

    /// The state after `input`. A move that stays on the field (edges
    /// included) scores a point; one that leaves it ends the game, and the
    /// player stays where it landed. A finished game ignores input.
    pub fn step(&self, input: Input) -> GameState {
        if self.game_over {
            return self.clone();
        }
        let (dx, dy) = match input {
            Input::Up => (0.0, -STEP),
            Input::Down => (0.0, STEP),
            Input::Left => (-STEP, 0.0),
            Input::Right => (STEP, 0.0),
        };
        let (x, y) = (self.x + dx, self.y + dy);
        let inside = (0.0..=FIELD_WIDTH).contains(&x) && (0.0..=FIELD_HEIGHT).contains(&y);
        GameState {
            x,
            y,
            score: if inside {
                self.score.saturating_add(1)
            } else {
                self.score
            },
            game_over: !inside,
        }
    }
}

/// The seed's `updateGameState`: state JSON and an input in, state JSON out.
pub fn update_game_state(state_json: &str, input: &str) -> Result<String, GameError> {
    let input = Input::parse(input)?;
    let next = GameState::from_json(state_json)?.step(input);
    serde_json::to_string(&next).map_err(|e| GameError::Json(e.to_string()))
}

/// What [`process_game_data`] reports, serialised in camelCase.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GameSummary {
    pub player: Player,
    pub enemy_count: usize,
    /// How many enemies of each `type`, by type name.
    pub enemies_by_type: BTreeMap<String, usize>,
    pub total_enemy_health: f64,
    /// The enemy closest to the player; `null` when there are none.
    pub nearest_enemy: Option<NearestEnemy>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Player {
    pub name: String,
    pub level: u64,
    pub health: f64,
    pub position: Position,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearestEnemy {
    /// Its index in `enemies`.
    pub index: usize,
    #[serde(rename = "type")]
    pub kind: String,
    /// Euclidean distance from the player.
    pub distance: f64,
}

/// Validates a level and summarises it. The expected shape:
/// `{"player": {"name": str, "level": integer ≥ 0, "health": number ≥ 0,
/// "position": {"x": number, "y": number}}, "enemies": [{"type": str,
/// "health": number ≥ 0, "position": {...}}, ...]}`; other keys are ignored.
/// Ties for the nearest enemy go to the first in the array.
pub fn process_game_data(json: &str) -> Result<GameSummary, GameError> {
    let value = parse(json)?;
    let root = At::root(&value).object()?;
    let player = root.field("player").object()?;
    let player = Player {
        name: player.field("name").string()?.to_string(),
        level: player.field("level").count()?,
        health: player.field("health").non_negative()?,
        position: position(&player)?,
    };
    let mut summary = GameSummary {
        player,
        enemy_count: 0,
        enemies_by_type: BTreeMap::new(),
        total_enemy_health: 0.0,
        nearest_enemy: None,
    };
    for (index, enemy) in root.field("enemies").array()?.into_iter().enumerate() {
        let enemy = enemy.object()?;
        let kind = enemy.field("type").string()?;
        let health = enemy.field("health").non_negative()?;
        let at = position(&enemy)?;
        let distance = (at.x - summary.player.position.x).hypot(at.y - summary.player.position.y);
        summary.enemy_count += 1;
        *summary.enemies_by_type.entry(kind.to_string()).or_default() += 1;
        summary.total_enemy_health += health;
        if summary
            .nearest_enemy
            .as_ref()
            .is_none_or(|n| distance < n.distance)
        {
            summary.nearest_enemy = Some(NearestEnemy {
                index,
                kind: kind.to_string(),
                distance,
            });
        }
    }
    Ok(summary)
}

fn position(parent: &Obj) -> Result<Position, GameError> {
    let at = parent.field("position").object()?;
    Ok(Position {
        x: at.field("x").number()?,
        y: at.field("y").number()?,
    })
}

fn parse(json: &str) -> Result<Value, GameError> {
    serde_json::from_str(json).map_err(|e| GameError::Json(e.to_string()))
}

/// A value found (or not) at a path in the document, for error messages that
/// say where the problem is.
struct At<'a> {
    value: Option<&'a Value>,
    path: String,
}

/// An object found at a path.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> At<'a> {
    fn root(value: &'a Value) -> Self {
        At {
            value: Some(value),
            path: "$".to_string(),
        }
    }

    fn error<T>(&self, expected: &'static str) -> Result<T, GameError> {
        Err(GameError::Field {
            path: self.path.clone(),
            expected,
            got: describe(self.value),
        })
    }

    fn object(&self) -> Result<Obj<'a>, GameError> {
        match self.value {
            Some(Value::Object(map)) => Ok(Obj {
                map,
                path: self.path.clone(),
            }),
            _ => self.error("an object"),
        }
    }

    fn array(&self) -> Result<Vec<At<'a>>, GameError> {
        match self.value {
            Some(Value::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, value)| At {
                    value: Some(value),
                    path: format!("{}[{i}]", self.path),
                })
                .collect()),
            _ => self.error("an array"),
        }
    }

    fn string(&self) -> Result<&'a str, GameError> {
        match self.value {
            Some(Value::String(s)) => Ok(s),
            _ => self.error("a string"),
        }
    }

    fn boolean(&self) -> Result<bool, GameError> {
        match self.value {
            Some(Value::Bool(b)) => Ok(*b),
            _ => self.error("true or false"),
        }
    }

    fn number(&self) -> Result<f64, GameError> {
        match self.value.and_then(Value::as_f64) {
            Some(n) if n.is_finite() => Ok(n),
            _ => self.error("a number"),
        }
    }

    fn non_negative(&self) -> Result<f64, GameError> {
        match self.number() {
            Ok(n) if n >= 0.0 => Ok(n),
            _ => self.error("a number ≥ 0"),
        }
    }

    /// A non-negative integer; `10.0` counts as 10.
    fn count(&self) -> Result<u64, GameError> {
        let value = self.value.and_then(|v| {
            v.as_u64().or_else(|| {
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && (0.0..=9.0e15).contains(f))
                    .map(|f| f as u64)
            })
        });
        match value {
            Some(n) => Ok(n),
            None => self.error("an integer ≥ 0"),
        }
    }
}

impl<'a> Obj<'a> {
    fn field(&self, name: &str) -> At<'a> {
        let path = if self.path == "$" {
            name.to_string()
        } else {
            format!("{}.{name}", self.path)
        };
        At {
            value: self.map.get(name),
            path,
        }
    }

    /// The field, or `None` when it is absent or `null`.
    fn optional(&self, name: &str) -> Option<At<'a>> {
        Some(self.field(name)).filter(|at| at.value.is_some_and(|v| !v.is_null()))
    }
}

/// A short description of what was found, for "expected X, got Y".
fn describe(value: Option<&Value>) -> String {
    match value {
        None => "nothing (the field is missing)".to_string(),
        Some(Value::Null) => "null".to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if s.chars().count() > 40 => {
            format!(
                "{:?}",
                format!("{}…", s.chars().take(40).collect::<String>())
            )
        }
        Some(Value::String(s)) => format!("{s:?}"),
        Some(Value::Array(_)) => "an array".to_string(),
        Some(Value::Object(_)) => "an object".to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEED_LEVEL: &str = r#"{"player": {"name": "Hero", "level": 10, "health": 100, "position": {"x": 100, "y": 200}}, "enemies": [{"type": "goblin", "health": 50, "position": {"x": 150, "y": 250}}, {"type": "orc", "health": 80, "position": {"x": 300, "y": 400}}]}"#;

    #[test]
    fn summarises_the_seed_level() {
        let s = process_game_data(SEED_LEVEL).unwrap();
        assert_eq!(s.player.name, "Hero");
        assert_eq!(s.player.level, 10);
        assert_eq!(s.enemy_count, 2);
        assert_eq!(
            s.enemies_by_type,
            BTreeMap::from([("goblin".to_string(), 1), ("orc".to_string(), 1)])
        );
        assert_eq!(s.total_enemy_health, 130.0);
        let nearest = s.nearest_enemy.clone().unwrap();
        assert_eq!((nearest.index, nearest.kind.as_str()), (0, "goblin"));
        assert!((nearest.distance - 50.0 * 2f64.sqrt()).abs() < 1e-12);
        let json: Value = serde_json::to_value(&s).unwrap();
        assert_eq!(json["enemiesByType"]["orc"], 1);
        assert_eq!(json["nearestEnemy"]["type"], "goblin");
        assert_eq!(json["totalEnemyHealth"], 130.0);
    }

    #[test]
    fn errors_name_the_field() {
        let bad = SEED_LEVEL.replace(r#""x": 300"#, r#""x": "a""#);
        assert_eq!(
            process_game_data(&bad).map_err(|e| e.to_string()),
            Err(r#"enemies[1].position.x: expected a number, got "a""#.to_string())
        );
        let missing = SEED_LEVEL.replace(r#""name": "Hero", "#, "");
        assert_eq!(
            process_game_data(&missing).map_err(|e| e.to_string()),
            Err("player.name: expected a string, got nothing (the field is missing)".to_string())
        );
        let negative = SEED_LEVEL.replace(r#""health": 50"#, r#""health": -5"#);
        assert_eq!(
            process_game_data(&negative).map_err(|e| e.to_string()),
            Err("enemies[0].health: expected a number ≥ 0, got -5".to_string())
        );
        assert_eq!(
            process_game_data("[1]").map_err(|e| e.to_string()),
            Err("$: expected an object, got an array".to_string())
        );
        assert!(matches!(process_game_data("{"), Err(GameError::Json(_))));
        let no_enemies = r#"{"player": {"name": "A", "level": 1, "health": 1, "position": {"x": 0, "y": 0}}, "enemies": []}"#;
        assert_eq!(process_game_data(no_enemies).unwrap().nearest_enemy, None);
    }

    #[test]
    fn moves_and_bounds() {
        let moved =
            update_game_state(r#"{"x":400,"y":300,"score":0,"gameOver":false}"#, "up").unwrap();
        assert_eq!(moved, r#"{"x":400.0,"y":290.0,"score":1,"gameOver":false}"#);
        let out = update_game_state(r#"{"x":795,"y":10}"#, "right").unwrap();
        assert_eq!(out, r#"{"x":805.0,"y":10.0,"score":0,"gameOver":true}"#);
        // A finished game ignores input.
        assert_eq!(update_game_state(&out, "left").unwrap(), out);
        // On the edge is still inside.
        let edge = GameState {
            x: 790.0,
            y: 0.0,
            score: 3,
            game_over: false,
        }
        .step(Input::Right);
        assert_eq!(
            edge,
            GameState {
                x: 800.0,
                y: 0.0,
                score: 4,
                game_over: false
            }
        );
        assert_eq!(GameState::from_json("").unwrap(), GameState::default());
        assert_eq!(
            update_game_state("{}", "jump").map_err(|e| e.to_string()),
            Err(r#"input: expected "up", "down", "left" or "right", got "jump""#.to_string())
        );
        assert_eq!(
            update_game_state(r#"{"x":1,"y":true}"#, "up").map_err(|e| e.to_string()),
            Err("y: expected a number, got true".to_string())
        );
        assert_eq!(
            update_game_state(r#"{"x":1,"y":2,"score":1.5}"#, "up").map_err(|e| e.to_string()),
            Err("score: expected an integer ≥ 0, got 1.5".to_string())
        );
    }

    proptest! {
        #[test]
        fn states_round_trip_and_stay_consistent(
            x in -50.0..850.0f64,
            y in -50.0..650.0f64,
            score in 0u64..1000,
            moves in prop::collection::vec(0usize..4, 0..200),
        ) {
            let inputs = ["up", "down", "left", "right"];
            let mut json = serde_json::to_string(&GameState { x, y, score, game_over: false }).unwrap();
            for m in moves {
                let before = GameState::from_json(&json).unwrap();
                json = update_game_state(&json, inputs[m]).unwrap();
                let after = GameState::from_json(&json).unwrap();
                prop_assert!(after.score >= before.score);
                prop_assert!(!before.game_over || after == before);
                let inside_x = (0.0..=FIELD_WIDTH).contains(&after.x);
                let inside_y = (0.0..=FIELD_HEIGHT).contains(&after.y);
                prop_assert!(after.game_over || (inside_x && inside_y));
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = process_game_data(&text);
            let _ = update_game_state(&text, "up");
        }
    }
}

#[cfg(test)]
mod float_roundtrip {
    use super::*;

    /// Found by the game_json fuzz target: without exact float parsing a
    /// finished game's state changed when it was fed back in.
    #[test]
    fn a_finished_state_feeds_back_unchanged() {
        let y = format!("600{}", "4".repeat(109));
        let text = format!(r#"{{"x":794,"y":{y},"score":12}}"#);
        let next = update_game_state(&text, "up").unwrap_or_default();
        assert!(!next.is_empty(), "the state was accepted");
        assert_eq!(update_game_state(&next, "up").unwrap_or_default(), next);
    }
}

//! The campaign's eight key tasks and their problem types. They are data, not code: the table ships as
//! `core/data/categories.json` and a district can load its own with the same shape. Task 8 ("weak-base"
//! villages) marks villages rather than problems, so it has no problem types of its own.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::domain::validate::ValidationError;

/// One of the eight key tasks (任务).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub code: String,
    pub number: u8,
    pub zh: String,
    pub en: String,
    /// True for a task that flags villages instead of classifying problems.
    #[serde(default)]
    pub village_flag: bool,
    pub problem_types: Vec<ProblemType>,
}

/// One kind of problem an inspector can record (问题类型), e.g. `waste.bin_overflowing`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemType {
    pub code: String,
    pub zh: String,
    pub en: String,
    /// Days a village has to fix it; 0 means by the end of the day it was reported.
    pub deadline_days: u16,
    /// A veto item (e.g. open burning) zeroes its category when scored.
    #[serde(default)]
    pub veto: bool,
}

/// The whole category table, versioned so that stored issues can say which table they were filed under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    pub version: u32,
    pub tasks: Vec<Task>,
}

impl Catalogue {
    /// Parses and checks a catalogue: codes unique, each problem type prefixed by its task's code.
    pub fn from_json(text: &str) -> Result<Self, ValidationError> {
        let catalogue: Catalogue =
            serde_json::from_str(text).map_err(|err| ValidationError::BadCatalogue(err.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        for task in &catalogue.tasks {
            if !seen.insert(task.code.as_str()) {
                return Err(ValidationError::BadCatalogue(format!("task code `{}` appears twice", task.code)));
            }
            for problem in &task.problem_types {
                let prefix_ok = problem
                    .code
                    .strip_prefix(task.code.as_str())
                    .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1);
                if !prefix_ok {
                    return Err(ValidationError::BadCatalogue(format!(
                        "problem type `{}` must start with `{}.`",
                        problem.code, task.code
                    )));
                }
                if !seen.insert(problem.code.as_str()) {
                    return Err(ValidationError::BadCatalogue(format!("code `{}` appears twice", problem.code)));
                }
            }
        }
        Ok(catalogue)
    }

    /// The table that ships with the app.
    pub fn builtin() -> &'static Catalogue {
        static BUILTIN: OnceLock<Catalogue> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            // The file is part of the build and checked by a unit test, so failing here is a build defect.
            #[allow(clippy::expect_used)]
            Catalogue::from_json(include_str!("../../data/categories.json")).expect("built-in categories.json is valid")
        })
    }

    /// Finds a problem type by code, with a helpful error naming what exists.
    pub fn problem_type(&self, code: &str) -> Result<(&Task, &ProblemType), ValidationError> {
        let code = code.trim();
        self.tasks
            .iter()
            .flat_map(|task| task.problem_types.iter().map(move |problem| (task, problem)))
            .find(|(_, problem)| problem.code == code)
            .ok_or_else(|| {
                let task = self.tasks.iter().find(|task| task.code == code);
                ValidationError::UnknownCategory {
                    code: code.to_string(),
                    hint: match task {
                        Some(task) if !task.problem_types.is_empty() => format!(
                            "`{code}` is a task; name one of its problem types, e.g. `{}`",
                            task.problem_types[0].code
                        ),
                        _ => "run `rectify categories` to list the codes".to_string(),
                    },
                }
            })
    }

    /// The task a problem type belongs to, by code, if any.
    pub fn task_of(&self, problem_code: &str) -> Option<&Task> {
        let task_code = problem_code.split('.').next()?;
        self.tasks.iter().find(|task| task.code == task_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_has_the_eight_tasks_with_labels_in_both_languages() {
        let catalogue = Catalogue::builtin();
        assert_eq!(catalogue.tasks.len(), 8);
        let numbers: Vec<u8> = catalogue.tasks.iter().map(|task| task.number).collect();
        assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
        for task in &catalogue.tasks {
            assert!(!task.zh.is_empty() && !task.en.is_empty());
            assert_eq!(task.problem_types.is_empty(), task.village_flag, "{}", task.code);
        }
        let (task, burning) = catalogue.problem_type("village.open_burning").unwrap();
        assert_eq!(task.number, 1);
        assert!(burning.veto);
    }

    #[test]
    fn unknown_and_task_codes_are_refused_with_a_hint() {
        let catalogue = Catalogue::builtin();
        let err = catalogue.problem_type("volcano").unwrap_err();
        assert!(err.to_string().contains("volcano"));
        let err = catalogue.problem_type("waste").unwrap_err();
        assert!(err.to_string().contains("waste.accumulated"), "{err}");
    }

    #[test]
    fn a_problem_type_outside_its_task_is_refused() {
        let text = r#"{"version":1,"tasks":[{"code":"a","number":1,"zh":"甲","en":"A",
            "problem_types":[{"code":"b.x","zh":"乙","en":"B","deadline_days":1}]}]}"#;
        assert!(Catalogue::from_json(text).is_err());
    }
}

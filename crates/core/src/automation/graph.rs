//! Checks of the whole graph of steps: every step can be reached (from the first, or as a goal
//! that contacts jump to), and no loop lets a contact go round without waiting.

use super::json::refused;
use super::step::{Action, Step};
use crate::segment::DefinitionError;

/// The steps a contact may go to from `step`.
fn after(step: &Step) -> Vec<usize> {
    let mut found: Vec<usize> = step.action.branches().into_iter().copied().collect();
    if step.action.goes_on() {
        found.extend(step.next);
    }
    found
}

/// Refuses unreachable steps and loops without a wait.
pub(super) fn check(steps: &[Step]) -> Result<(), DefinitionError> {
    let mut reached = vec![false; steps.len()];
    let mut stack: Vec<usize> = std::iter::once(0)
        .chain(
            steps
                .iter()
                .enumerate()
                .filter(|(_, step)| matches!(step.action, Action::Goal { .. }))
                .map(|(index, _)| index),
        )
        .collect();
    while let Some(index) = stack.pop() {
        if !std::mem::replace(&mut reached[index], true) {
            stack.extend(after(&steps[index]));
        }
    }
    if let Some(index) = reached.iter().position(|reached| !reached) {
        return Err(refused(
            &format!("/steps/{index}"),
            format!("step {:?} cannot be reached", steps[index].id),
        ));
    }
    if let Some(cycle) = loop_without_wait(steps) {
        let names: Vec<&str> = cycle
            .iter()
            .map(|&index| steps[index].id.as_str())
            .collect();
        return Err(refused(
            &format!("/steps/{}", cycle[0]),
            format!(
                "the loop {} -> {} never waits: put a wait in it",
                names.join(" -> "),
                names[0]
            ),
        ));
    }
    Ok(())
}

/// A loop through steps none of which waits, if any (its steps in order).
fn loop_without_wait(steps: &[Step]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut marks = vec![Mark::New; steps.len()];
    for start in 0..steps.len() {
        if marks[start] != Mark::New || steps[start].action.waits() {
            continue;
        }
        // Depth first, with the path kept to name the loop.
        let mut path: Vec<(usize, Vec<usize>)> = vec![(start, after(&steps[start]))];
        marks[start] = Mark::OnPath;
        while let Some((node, pending)) = path.last_mut() {
            let node = *node;
            match pending.pop() {
                Some(next) if steps[next].action.waits() => {}
                Some(next) => match marks[next] {
                    Mark::OnPath => {
                        let from = path.iter().position(|(index, _)| *index == next)?;
                        return Some(path[from..].iter().map(|(index, _)| *index).collect());
                    }
                    Mark::New => {
                        marks[next] = Mark::OnPath;
                        path.push((next, after(&steps[next])));
                    }
                    Mark::Done => {}
                },
                None => {
                    marks[node] = Mark::Done;
                    path.pop();
                }
            }
        }
    }
    None
}

//! Whether a template would render as written: every `%IF%` block closed, at most one `%ELSE%`
//! each, conditions of a known form, no stray `%ELSE%` or `%ENDIF%`.

use super::{tokenize, Token};

/// A template that would not render as written: what is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {problem}")]
pub struct TemplateError {
    /// The line of the tag at fault (from 1).
    pub line: usize,
    /// Its column (from 1, in characters).
    pub column: usize,
    /// What is wrong.
    pub problem: &'static str,
}

/// Checks that every `%IF%` block of `template` is closed by its `%ENDIF%`, has at most one
/// `%ELSE%`, and tests a condition of a known form (`TAG:name` or `FIELD:PERSTAG=value`), and
/// that no `%ELSE%` or `%ENDIF%` stands outside a block.
pub fn check(template: &str) -> Result<(), TemplateError> {
    let at = |offset: usize, problem| {
        let before = &template[..offset];
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        TemplateError {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            problem,
        }
    };
    // The open blocks, innermost last: where each starts and whether it had its `%ELSE%`.
    let mut open: Vec<(usize, bool)> = Vec::new();
    for (offset, token) in tokenize(template) {
        let Token::Tag(tag) = token else { continue };
        if let Some(condition) = tag.trim().strip_prefix("IF ") {
            let condition = condition.trim();
            let known = condition
                .strip_prefix("TAG:")
                .is_some_and(|t| !t.trim().is_empty())
                || condition
                    .strip_prefix("FIELD:")
                    .is_some_and(|f| !f.trim().is_empty());
            if !known {
                return Err(at(offset, "an %IF% tests TAG:name or FIELD:PERSTAG=value"));
            }
            open.push((offset, false));
            continue;
        }
        match tag.trim().to_ascii_uppercase().as_str() {
            "ELSE" => match open.last_mut() {
                None => return Err(at(offset, "%ELSE% outside an %IF% block")),
                Some((_, true)) => return Err(at(offset, "a second %ELSE% in one %IF% block")),
                Some((_, had_else)) => *had_else = true,
            },
            "ENDIF" if open.pop().is_none() => {
                return Err(at(offset, "%ENDIF% without its %IF%"));
            }
            _ => {}
        }
    }
    match open.last() {
        Some((offset, _)) => Err(at(*offset, "this %IF% is never closed by %ENDIF%")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_the_place_of_a_broken_block() {
        assert_eq!(check("Hi %IF TAG:vip%VIP%ELSE%you%ENDIF%, 50% off"), Ok(()));
        let unclosed = check("<p>one</p>\n<p>%IF TAG:vip%x").unwrap_err();
        assert_eq!((unclosed.line, unclosed.column), (2, 4));
        assert!(unclosed.problem.contains("never closed"));
        assert!(check("a %ENDIF%").unwrap_err().problem.contains("without"));
        assert!(check("a %ELSE%").unwrap_err().problem.contains("outside"));
        let twice = "%IF TAG:a%1%ELSE%2%ELSE%3%ENDIF%";
        assert!(check(twice).unwrap_err().problem.contains("second"));
        assert!(check("%IF vip%x%ENDIF%")
            .unwrap_err()
            .problem
            .contains("tests"));
    }
}

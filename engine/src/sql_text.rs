//! A check every piece of user SQL passes before DataFusion's parser (sqlparser) sees it.
//!
//! sqlparser 0.62 backtracks on a dotted name: after each `.` it first tries to parse the
//! rest of the name as an expression, and when that fails somewhere inside a `[` subscript
//! it parses the rest again as a plain identifier. Nested, the work doubles with every dot
//! on the way in: `SELECT a.a.a.a.a.a.a.a.a.a[a.a.a.a.a.a.a.a.a.a[a.a.a.a.a.a.a.a.a.a[x`
//! (77 bytes) took 648 s of CPU, found by the `sql_guard` fuzz target. A parse cannot be
//! interrupted, so a job submitted over HTTP could hold a core for hours. This check
//! tokenizes the text (linear) and refuses text whose dots, summed along the nesting of
//! `[`, exceed [`MAX_DOTS_INTO_SUBSCRIPTS`]; real queries stay far below it.

use datafusion::common::plan_err;
use datafusion::error::Result;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// The most dots of dotted names, summed over the `[`…`]` subscripts one inside another,
/// that a text may hold: parsing costs up to 2 to this power (4096 steps).
pub const MAX_DOTS_INTO_SUBSCRIPTS: usize = 12;

/// Refuses SQL text that would make the parser work exponentially long.
pub fn check(sql: &str) -> Result<()> {
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        // The parser reports the tokenizer's error itself, at once.
        return Ok(());
    };
    // Dots of the name being read, the dots each open `[` was entered with, their sum.
    let (mut dots, mut open, mut total) = (0usize, Vec::new(), 0usize);
    for token in &tokens {
        match token {
            Token::Whitespace(_) | Token::Word(_) => {}
            Token::Period => dots += 1,
            Token::LBracket => {
                total += dots;
                open.push(dots);
                if total > MAX_DOTS_INTO_SUBSCRIPTS {
                    return plan_err!(
                        "the SQL nests `[…]` subscripts inside dotted names too deeply ({total} dots on the way in, at most {MAX_DOTS_INTO_SUBSCRIPTS}); write it with shorter names or less nesting"
                    );
                }
                dots = 0;
            }
            Token::RBracket => {
                // The name may go on after `]` (`a.b[1].c`): count its dots again.
                dots = open.pop().unwrap_or(0);
                total -= dots;
            }
            _ => dots = 0,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a.a…a[` (`n` dots) nested `levels` deep, never closed.
    fn nested(n: usize, levels: usize) -> String {
        let name = vec!["a"; n + 1].join(".");
        format!("SELECT {}x", format!("{name}[").repeat(levels))
    }

    #[test]
    fn the_fuzzer_s_slow_inputs_are_refused_at_once() {
        for sql in [
            nested(9, 3),
            // The input the fuzzer found (6.5 s), reduced to 62 bytes (1.9 s).
            "SELECT n.c.b.n.i.T [u.c.b.n.n.ba.p.b1[(T *i.n.p.n.n.h[n(T * CA".to_string(),
        ] {
            let started = std::time::Instant::now();
            let e = check(&sql).expect_err(&sql).to_string();
            assert!(e.contains("too deeply"), "{e}");
            assert!(started.elapsed().as_millis() < 100, "{sql}");
        }
    }

    #[test]
    fn real_queries_pass() {
        for sql in [
            "SELECT t.a, s.b.c, payload['user']['id'], arr[1][2] FROM input t JOIN s ON t.id = s.id",
            "SELECT cat.sch.tbl.col[1], x.y[2].z[3] FROM input",
            &nested(3, 3),
            "amount > 100 AND status = 'paid'",
            "SELECT '[.[.[.[' AS s, \"a.b.c\"[1] FROM input",
        ] {
            check(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }
}

//! The documentation's promises that tests can keep: every row of docs/bad-input.md names a
//! test, and every test it names exists.

use crate::common;

#[test]
fn every_bad_input_row_names_a_test_that_exists() {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let path = common::root().join("docs/bad-input.md");
    let text = std::fs::read_to_string(&path).unwrap();
    // The cells of each body row, as text.
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut in_head = false;
    for event in Parser::new_ext(&text, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::TableHead) => in_head = true,
            Event::End(TagEnd::TableHead) => in_head = false,
            Event::Start(Tag::TableRow) => rows.push(Vec::new()),
            Event::Start(Tag::TableCell) if !in_head => {
                if let Some(row) = rows.last_mut() {
                    row.push(String::new());
                }
            }
            Event::Text(t) | Event::Code(t) if !in_head => {
                if let Some(cell) = rows.last_mut().and_then(|r| r.last_mut()) {
                    cell.push_str(&t);
                }
            }
            _ => {}
        }
    }
    assert!(rows.len() >= 20, "only {} rows", rows.len());
    let reference = regex::Regex::new(r"tests/([a-z_/]+)\.rs::([a-z_0-9]+)").unwrap();
    for row in &rows {
        assert_eq!(row.len(), 3, "{row:?}");
        let tests: Vec<_> = reference.captures_iter(&row[2]).collect();
        assert!(!tests.is_empty(), "no test named for {:?}", row[0]);
        for test in tests {
            let file = common::root().join(format!("tests/{}.rs", &test[1]));
            let source = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e} (row {:?})", file.display(), row[0]));
            assert!(
                source.contains(&format!("fn {}(", &test[2])),
                "{} has no test {} (row {:?})",
                file.display(),
                &test[2],
                row[0]
            );
        }
    }
}

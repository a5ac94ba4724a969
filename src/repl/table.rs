//! Laying out result tables for a terminal of a given width: pure functions from cells to
//! lines, so that the layout is tested without a terminal.
//!
//! Two shapes, as ksqlDB's CLI draws them:
//! - [`Style::Listing`] for SHOW/DESCRIBE/status results: ` A | B ` rows between dashed lines;
//! - [`Style::Rows`] for query results: `|A |B |` rows inside a `+---+---+` frame.
//!
//! A table wider than the terminal gives up width from its widest columns first and wraps
//! the cells that no longer fit onto several lines, so a line never exceeds the terminal.

/// How a table is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// SHOW, DESCRIBE and status messages.
    Listing,
    /// Pull and push query rows.
    Rows,
}

/// The narrowest a column is squeezed to before the table overflows instead.
const MIN_COLUMN: usize = 6;

/// Column widths (in characters) that fit `header` and `rows` into `max_width` when possible.
pub fn fit_widths(header: &[String], rows: &[Vec<String>], max_width: usize, style: Style) -> Vec<usize> {
    let mut widths: Vec<usize> = header.iter().map(|h| width_of(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.lines().map(width_of).max().unwrap_or(0));
        }
    }
    let floor: Vec<usize> = widths.iter().map(|w| (*w).min(MIN_COLUMN)).collect();
    let budget = max_width.saturating_sub(overhead(widths.len(), style));
    // Take one character at a time from the widest column that can still give: the columns
    // that fit stay whole and the long ones (query strings, JSON) wrap.
    while widths.iter().sum::<usize>() > budget {
        let widest =
            widths.iter().enumerate().filter(|(i, w)| **w > floor[*i]).max_by_key(|(_, w)| **w).map(|(i, _)| i);
        match widest.and_then(|i| widths.get_mut(i)) {
            Some(w) => *w -= 1,
            None => break,
        }
    }
    widths
}

/// Equal column widths for a push query, whose rows are not known when its header is drawn.
pub fn even_widths(columns: usize, max_width: usize, style: Style) -> Vec<usize> {
    if columns == 0 {
        return Vec::new();
    }
    let share = max_width.saturating_sub(overhead(columns, style)) / columns;
    vec![share.max(MIN_COLUMN); columns]
}

/// Characters a row takes besides its cells.
fn overhead(columns: usize, style: Style) -> usize {
    match style {
        // " a | b " → a space either side of each cell and one bar between cells.
        Style::Listing => columns * 3 - 1,
        // "|a|b|"
        Style::Rows => columns + 1,
    }
}

/// A whole table: header, separators and rows.
pub fn render(header: &[String], rows: &[Vec<String>], max_width: usize, style: Style) -> Vec<String> {
    let widths = fit_widths(header, rows, max_width, style);
    let mut out = Vec::new();
    match style {
        Style::Listing => {
            let rule = "-".repeat(widths.iter().sum::<usize>() + overhead(widths.len(), style));
            out.extend(row_lines(header, &widths, style));
            out.push(rule.clone());
            for row in rows {
                out.extend(row_lines(row, &widths, style));
            }
            out.push(rule);
        }
        Style::Rows => {
            out.extend(header_lines(header, &widths));
            for row in rows {
                out.extend(row_lines(row, &widths, style));
            }
            out.push(border(&widths));
        }
    }
    out
}

/// The framed header of a query result: border, names, border.
pub fn header_lines(header: &[String], widths: &[usize]) -> Vec<String> {
    let mut out = vec![border(widths)];
    out.extend(row_lines(header, widths, Style::Rows));
    out.push(border(widths));
    out
}

/// `+-----+----+`
pub fn border(widths: &[usize]) -> String {
    let mut line = String::from("+");
    for w in widths {
        line.push_str(&"-".repeat(*w));
        line.push('+');
    }
    line
}

/// One row, wrapped over as many lines as its tallest cell needs.
pub fn row_lines(cells: &[String], widths: &[usize], style: Style) -> Vec<String> {
    let wrapped: Vec<Vec<String>> =
        widths.iter().enumerate().map(|(i, w)| wrap(cells.get(i).map_or("", String::as_str), *w)).collect();
    let height = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
    (0..height)
        .map(|line| {
            let parts = wrapped.iter().zip(widths).map(|(cell, w)| {
                let text = cell.get(line).map_or("", String::as_str);
                format!("{text}{}", " ".repeat(w.saturating_sub(width_of(text))))
            });
            match style {
                Style::Listing => format!(" {} ", parts.collect::<Vec<_>>().join(" | ")).trim_end().to_string(),
                Style::Rows => format!("|{}|", parts.collect::<Vec<_>>().join("|")),
            }
        })
        .collect()
}

/// Splits a cell into lines of at most `width` characters (its own newlines kept).
fn wrap(cell: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for line in cell.split('\n') {
        let chars: Vec<char> = line.chars().collect();
        if chars.is_empty() {
            out.push(String::new());
        }
        for chunk in chars.chunks(width) {
            out.push(chunk.iter().collect());
        }
    }
    out
}

fn width_of(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn listing_matches_ksqldb_shape() {
        let lines = render(
            &strings(&["Stream Name", "Kafka Topic"]),
            &[strings(&["PAGEVIEWS", "pageviews"])],
            80,
            Style::Listing,
        );
        assert_eq!(
            lines,
            vec![
                " Stream Name | Kafka Topic",
                "---------------------------",
                " PAGEVIEWS   | pageviews",
                "---------------------------",
            ]
        );
    }

    #[test]
    fn rows_are_framed() {
        let lines = render(&strings(&["ID", "N"]), &[strings(&["a", "10"])], 80, Style::Rows);
        assert_eq!(lines, vec!["+--+--+", "|ID|N |", "+--+--+", "|a |10|", "+--+--+"]);
    }

    #[test]
    fn wide_tables_wrap_their_widest_column_to_fit() {
        let long = "x".repeat(100);
        let lines = render(&strings(&["ID", "SQL"]), &[strings(&["q1", &long])], 40, Style::Rows);
        assert!(lines.iter().all(|l| l.chars().count() <= 40), "{lines:#?}");
        // Every character of the long cell is still shown.
        let shown: usize = lines.iter().skip(3).map(|l| l.matches('x').count()).sum();
        assert_eq!(shown, 100);
        assert!(lines.iter().any(|l| l.starts_with("|q1|")));
    }

    #[test]
    fn even_widths_share_the_terminal() {
        assert_eq!(even_widths(3, 80, Style::Rows), vec![25, 25, 25]);
        // Never narrower than the minimum, even on a tiny terminal.
        assert_eq!(even_widths(4, 10, Style::Rows), vec![MIN_COLUMN; 4]);
    }
}

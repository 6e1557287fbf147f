//! Plain-text tables for human output (`ls`, `pair ls`): left-aligned
//! columns two spaces apart, no trailing spaces.

/// Renders `headers` and `rows` as aligned lines, each ending in a newline.
/// Cells are stored names: each goes through [`crate::printable::printable`].
pub(crate) fn render<const N: usize>(headers: [&str; N], rows: &[[String; N]]) -> String {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|row| {
            row.each_ref()
                .map(|c| crate::printable::printable(c).into_owned())
        })
        .collect();
    let rows = rows.as_slice();
    let mut widths = headers.map(|h| h.chars().count());
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cols: [&str; N]| {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            if i + 1 == N {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(headers);
    for row in rows {
        line(row.each_ref().map(String::as_str));
    }
    out
}

/// Prints the table on stdout.
pub(crate) fn print<const N: usize>(headers: [&str; N], rows: &[[String; N]]) {
    print!("{}", render(headers, rows));
}

#[cfg(test)]
mod tests {
    #[test]
    fn aligns_columns_without_trailing_spaces() {
        let out = super::render(
            ["A", "LONG HEADER"],
            &[["wide value".into(), "x".into()], ["é".into(), "".into()]],
        );
        assert_eq!(out, "A           LONG HEADER\nwide value  x\né\n");
    }
}

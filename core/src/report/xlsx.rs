//! Tables as an XLSX workbook, the way offices open them: a sheet per table, bold Chinese headers in a
//! frozen first row, set column widths.

use rust_xlsxwriter::{Format, Workbook};

use super::{Cell, Table};

/// Writes `tables` as one workbook (a sheet each); returns the file's bytes.
pub fn workbook(tables: &[Table]) -> Result<Vec<u8>, String> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let mut used: Vec<String> = Vec::new();
    for table in tables {
        // Sheet names are unique, at most 31 characters, and may not hold []:*?/\.
        let mut name: String = table.title.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(28).collect();
        while used.contains(&name) {
            name.push('+');
        }
        used.push(name.clone());
        let sheet = book.add_worksheet();
        sheet.set_name(&name).map_err(|err| err.to_string())?;
        for (column, header) in table.headers.iter().enumerate() {
            let column = column as u16;
            sheet.write_string_with_format(0, column, *header, &bold).map_err(|err| err.to_string())?;
            if let Some(width) = table.widths.get(usize::from(column)) {
                sheet.set_column_width(column, *width).map_err(|err| err.to_string())?;
            }
        }
        sheet.set_freeze_panes(1, 0).map_err(|err| err.to_string())?;
        for (index, row) in table.rows.iter().enumerate() {
            let line = u32::try_from(index + 1).map_err(|_| "too many rows for one sheet".to_string())?;
            for (column, cell) in row.iter().enumerate() {
                let column = column as u16;
                match cell {
                    Cell::Text(text) => sheet.write_string(line, column, text).map(|_| ()),
                    Cell::Number(number) => sheet.write_number(line, column, *number).map(|_| ()),
                    Cell::Empty => Ok(()),
                }
                .map_err(|err| err.to_string())?;
            }
        }
    }
    book.save_to_buffer().map_err(|err| err.to_string())
}

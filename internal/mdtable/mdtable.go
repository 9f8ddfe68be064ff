// Package mdtable reads a table of the project's Markdown documents, for the
// tests that hold what the documents say to the code.
package mdtable

import (
	"fmt"
	"os"
	"strings"
)

// Rows returns the rows of the table in the file path whose heading row is
// header ("| flag | environment | ... |"): each row's cells, trimmed of
// spaces and of the backticks around a whole cell.
func Rows(path, header string) ([][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	_, table, ok := strings.Cut(string(b), header+"\n")
	if !ok {
		return nil, fmt.Errorf("%s: no table under %q", path, header)
	}
	var rows [][]string
	for i, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "|") {
			break // the table's end
		}
		if i == 0 {
			continue // the separator under the heading
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j, c := range cells {
			cells[j] = strings.Trim(strings.TrimSpace(c), "`")
		}
		rows = append(rows, cells)
	}
	return rows, nil
}

// The consensus core lives here (issue 5).

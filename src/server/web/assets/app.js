// The page is being written: see the web client issue.

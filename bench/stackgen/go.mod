module example.com/stackgen

go 1.19

package imports

import "example.com/tests/may/import/this"

var _ = this.X

package imports

import "os"

var _ = os.Args

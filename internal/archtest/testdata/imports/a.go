package imports

import (
	"fmt"

	"example.com/forbidden/pkg"
)

var _ = fmt.Sprint(pkg.X)

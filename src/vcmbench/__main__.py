from vcmbench.cli import main

raise SystemExit(main())

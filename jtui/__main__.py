from jtui.cli import main

raise SystemExit(main())

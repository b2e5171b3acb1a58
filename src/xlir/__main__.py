from xlir.cli import main

main()

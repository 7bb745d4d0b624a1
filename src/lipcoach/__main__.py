from lipcoach.cli import main

main()

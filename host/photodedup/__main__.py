from photodedup.cli import main

main()

from photodedup.nativehost.main import main

main()

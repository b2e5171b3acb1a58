"""xlir.experiments"""

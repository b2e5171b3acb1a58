"""xlir.evaluation"""

"""xlir.training"""

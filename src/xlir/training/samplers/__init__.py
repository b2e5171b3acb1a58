"""xlir.training.samplers"""

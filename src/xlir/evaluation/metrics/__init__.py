"""xlir.evaluation.metrics"""

"""xlir.reports"""

"""xlir.models"""

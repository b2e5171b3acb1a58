"""xlir.data.loaders"""
